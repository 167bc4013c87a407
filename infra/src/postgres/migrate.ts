import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

/** The project's PostgreSQL migrations: `infra/migrations/postgres/NNNN_name.sql`, applied in order. */
export const POSTGRES_MIGRATIONS_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../migrations/postgres');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
  readonly code = 'MIGRATION';
}

export function readMigrations(dir = POSTGRES_MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  return files.map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(join(dir, f), 'utf8') }));
}

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex').slice(0, 16);

/**
 * Applies the migrations not yet recorded in `schema_migrations`, each in its own transaction.
 * Idempotent; refuses to run when an applied migration's file has changed since.
 * @returns the versions applied by this call.
 */
export async function migratePostgres(db: Db, migrations = readMigrations()): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  await db.transaction(async (tx) => {
    // Several processes may start at once against one server: one migrates, the others wait.
    if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(727274)');
    const { rows } = await tx.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations');
    const done = new Map(rows.map((r) => [Number(r.version), r.checksum]));
    for (const m of migrations) {
      const sum = checksum(m.sql);
      const prev = done.get(m.version);
      if (prev !== undefined) {
        if (prev !== sum)
          throw new MigrationError(`migration ${m.version}_${m.name} was changed after it was applied; add a new migration instead`);
        continue;
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, sum]);
      applied.push(m.version);
    }
  });
  return applied;
}
