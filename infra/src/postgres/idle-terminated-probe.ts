/**
 * For postgres.int.test.ts: a process with a pool whose idle connection the server ends (as a
 * failover, an administrator or a pooler's idle timeout does). Prints `OK <n>` once a query after it
 * has succeeded; an unhandled 'error' from the pool kills the process instead, as it killed portals.
 *
 * @example DATABASE_URL=postgres://… node --import tsx infra/src/postgres/idle-terminated-probe.ts
 */
import { openPostgres } from './db.ts';

const url = process.env.DATABASE_URL!;
const db = await openPostgres(url);
const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
const admin = await openPostgres(url);
await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
await admin.close();
// Give the pool's idle client time to read the server's FATAL and emit it.
await new Promise((r) => setTimeout(r, 500));
const after = await db.query<{ n: number }>('SELECT 41 + 1 AS n');
process.stdout.write(`OK ${after.rows[0]!.n}\n`);
await db.close();
