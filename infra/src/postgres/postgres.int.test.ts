import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openPglite, openPostgres, type Db } from './db.ts';
import { migratePostgres, readMigrations } from './migrate.ts';

const backends: [string, () => Promise<Db>][] = [['PGlite (embedded)', () => openPglite('memory://')]];
const pgUrl = inject('postgresUrl');
if (pgUrl) backends.push(['PostgreSQL server', () => openPostgres(pgUrl)]);

describe.each(backends)('PostgreSQL migrations on %s', (_name, open) => {
  let db: Db;
  afterAll(async () => db?.close());

  it('applies every migration once, then nothing, and the schema answers queries', async () => {
    db = await open();
    const all = readMigrations().map((m) => m.version);
    const first = await migratePostgres(db);
    // A server shared with an earlier run may already have them; what matters is that all are there.
    expect(all.every((v) => first.includes(v)) || first.length === 0).toBe(true);
    expect(await migratePostgres(db)).toEqual([]);
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => Number(r.version))).toEqual(all);
    const s = await db.query<{ value: string }>('SELECT value FROM platform_settings WHERE key = $1', ['platform_name']);
    expect(s.rows[0]!.value).toBe('翼讯通短信平台');
  }, 300_000);

  it('rolls a failed transaction back', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO platform_settings (key, value) VALUES ('tx_probe', '1')");
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const { rows } = await db.query("SELECT 1 FROM platform_settings WHERE key = 'tx_probe'");
    expect(rows).toHaveLength(0);
  });

  it('refuses to run when an applied migration was edited', async () => {
    const edited = readMigrations().map((m, i) => (i === 0 ? { ...m, sql: m.sql + '\n-- edited' } : m));
    await expect(migratePostgres(db, edited)).rejects.toThrow(/changed after it was applied/);
  });
});

describe.skipIf(!pgUrl)('a pool on a PostgreSQL server (needs TEST_DATABASE_URL)', () => {
  it('lives on when the server ends one of its idle connections, and the next query gets a new one', async () => {
    // In a process of its own: the defect was an uncaught 'error' that killed the process (CI saw it as
    // "terminating connection due to administrator command" when a test dropped its database).
    const probe = fileURLToPath(new URL('./idle-terminated-probe.ts', import.meta.url));
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', probe], {
      env: { ...process.env, DATABASE_URL: pgUrl },
      timeout: 60_000,
    });
    expect(r.stdout.trim()).toBe('OK 42');
  }, 90_000);
});
