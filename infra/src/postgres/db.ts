import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

/**
 * A row as a query hands it back when the caller maps it field by field into a typed record (e.g.
 * `toAccount(row)`): the columns' types are the SQL's, checked by the mapping and its tests.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are typed by the mapping that reads them
export type SqlRow = Record<string, any>;

/** What the services need from PostgreSQL, the same over PGlite (embedded) and a PostgreSQL server. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[]; rowCount: number }>;
  /** Runs several statements (no parameters), e.g. a migration file. */
  exec(text: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** A PostgreSQL server URL; when absent, PGlite embedded with its files in `dataDir`. */
  databaseUrl?: string;
  /** Told when the server ends an idle pooled connection (the pool replaces it); @default ignored */
  onIdleError?: (err: Error) => void;
  /** PGlite data folder; `memory://` for a throw-away database. */
  dataDir?: string;
}

/** Opens PostgreSQL: a server when `databaseUrl` is set, else PGlite embedded. */
export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.onIdleError);
  return openPglite(opts.dataDir ?? 'memory://');
}

export async function openPglite(dataDir: string): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const pg: PGlite = await PGlite.create(dataDir);
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<T>(text: string, params?: unknown[]) {
      const r = await q.query<T>(text, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async exec(text: string) {
      await q.exec(text);
    },
  });
  return {
    kind: 'pglite',
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
  };
}

/**
 * A pool on a PostgreSQL server. When the server ends one of its idle connections (a failover, a
 * restart, an administrator, a pooler's idle timeout, a dropped database) pg emits 'error' on the
 * pool, which without a listener is an uncaught exception that kills the process: the error is
 * handed to `onIdleError` instead, the pool drops that client and the next query opens a new one.
 */
export async function openPostgres(url: string, onIdleError: (err: Error) => void = () => undefined): Promise<Db> {
  const { default: pg } = await import('pg');
  const pool: Pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', onIdleError);
  // Fail fast with a clear message when the server is unreachable or the credentials are wrong.
  await pool.query('SELECT 1');
  const wrap = (c: Pool | PoolClient): Queryable => ({
    async query<T>(text: string, params?: unknown[]) {
      const r = await c.query(text, params);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(text: string) {
      await c.query(text);
    },
  });
  return {
    kind: 'postgres',
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
