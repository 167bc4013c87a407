import type { ClickHouseClient } from '@clickhouse/client';
import { clickhouseCluster, ClickHouseClusterConfigError, originOf, type ClickHouseCluster } from './cluster.ts';
import { connectClickHouse, selectRows, withClickHouseNodes, type ClickHouseNode } from './client.ts';
import { ident, quoteString, sql } from './sql.ts';

/**
 * A ClickHouse schema change owned by one service. ClickHouse has no transactions, so each
 * statement must be safe to run again (`CREATE TABLE IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS` is
 * not in 18.16: check `system.columns` in code instead). SQL must run on 18.16 and current releases:
 * no TTL, no LowCardinality, no DateTime64, no window functions.
 */
export interface ClickHouseMigration {
  version: number;
  name: string;
  statements: string[];
  /**
   * Cluster mode (cluster.ts): the sharding key of each table this migration creates, as a
   * `Distributed` key expression over its columns. Such a table becomes `<table>_local` on every
   * node and `<table>` a `Distributed` table over them; tables without a key stay node-local.
   * @example { insight_presence: 'cityHash64(sub)' }
   */
  shardBy?: Record<string, string>;
}

/**
 * Applies `migrations` of `owner` that are not yet recorded in `schema_migrations`.
 * @returns the versions applied by this call.
 */
export async function migrateClickHouse(ch: ClickHouseClient, owner: string, migrations: ClickHouseMigration[]): Promise<number[]> {
  const cluster = clickhouseCluster(ch);
  if (cluster) return migrateCluster(ch, cluster, owner, migrations);
  await ch.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (owner String, version UInt32, name String, applied_at DateTime)
      ENGINE = ReplacingMergeTree ORDER BY (owner, version)`,
  });
  const done = new Set(
    (await selectRows<{ version: number }>(ch, sql`SELECT version FROM schema_migrations WHERE owner = ${owner}`.text)).map((r) =>
      Number(r.version),
    ),
  );
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await ch.command({ query: statement });
    await ch.command({
      query: sql`INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES (${owner}, ${m.version}, ${m.name}, ${new Date()})`
        .text,
    });
    applied.push(m.version);
  }
  return applied;
}

const SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (owner String, version UInt32, name String, applied_at DateTime)
  ENGINE = ReplacingMergeTree ORDER BY (owner, version)`;

/**
 * Cluster mode: each node keeps its own `schema_migrations`, and a migration runs on every node that
 * has not recorded it, node by node (no ZooKeeper, so no `ON CLUSTER`), recorded on each node as soon
 * as it ran there: a run that failed on one node and is started again does not repeat a migration on
 * the nodes that finished it (a data rewrite such as insight's version 3 must not run twice). The
 * entry node (the URL's host) goes last, so a reader there that waits for the schema's version sees it
 * only once every node has it.
 * Statements run rewritten per node ({@link clusterStatement}).
 */
async function migrateCluster(
  ch: ClickHouseClient,
  cluster: ClickHouseCluster,
  owner: string,
  migrations: ClickHouseMigration[],
): Promise<number[]> {
  const keys = new Map<string, string>();
  for (const m of migrations) for (const [t, k] of Object.entries(m.shardBy ?? {})) keys.set(t, k);
  await createDatabaseOnEveryNode(ch, cluster);
  return withClickHouseNodes(ch, async (nodes) => {
    const [shards] = await selectRows<{ n: string }>(
      nodes[0]!.client,
      sql`SELECT count() AS n FROM system.clusters WHERE cluster = ${cluster.name}`.text,
    );
    if (Number(shards?.n ?? 0) !== nodes.length) {
      throw new ClickHouseClusterConfigError(
        `CLICKHOUSE_URL names ${nodes.length} nodes but the servers' remote_servers has ${shards?.n ?? 0} for cluster ${cluster.name}`,
      );
    }
    const done = new Map<ClickHouseNode, Set<number>>();
    for (const node of nodes) {
      await node.client.command({ query: SCHEMA_MIGRATIONS });
      const rows = await selectRows<{ version: number }>(
        node.client,
        sql`SELECT version FROM schema_migrations WHERE owner = ${owner}`.text,
      );
      done.set(node, new Set(rows.map((r) => Number(r.version))));
    }
    // The entry node (the URL's host, where readers look for the schema's version) goes last.
    const entry = originOf(ch)?.host;
    const order = [...nodes.filter((n) => new URL(n.url).host !== entry), ...nodes.filter((n) => new URL(n.url).host === entry)];
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      const pending = order.filter((node) => !done.get(node)!.has(m.version));
      if (pending.length === 0) continue;
      for (const node of pending) {
        const [{ db }] = (await selectRows<{ db: string }>(node.client, 'SELECT currentDatabase() AS db')) as [{ db: string }];
        for (const statement of m.statements) await runOnNode(node.client, statement, keys, cluster.name, db);
        await node.client.command({
          query:
            sql`INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES (${owner}, ${m.version}, ${m.name}, ${new Date()})`
              .text,
        });
      }
      applied.push(m.version);
    }
    return applied;
  });
}

/** Without `ON CLUSTER` a database made on the node a client talks to exists there only; make it on each. */
async function createDatabaseOnEveryNode(ch: ClickHouseClient, cluster: ClickHouseCluster): Promise<void> {
  const db = originOf(ch)?.database ?? 'default';
  for (const url of cluster.nodes) {
    const u = new URL(url);
    u.pathname = '/';
    const root = connectClickHouse(u.toString(), 'default');
    try {
      await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${ident(db).text}` });
    } finally {
      await root.close();
    }
  }
}

/**
 * One statement on one node: every sharded table's name becomes `<name>_local`, and afterwards the
 * `Distributed` tables of the sharded tables it created, altered, renamed or dropped are made to
 * match their local tables again (created, re-created with the new columns, or dropped). A
 * `Distributed` table holds no rows here (inserts are synchronous), so re-creating it loses nothing.
 */
async function runOnNode(ch: ClickHouseClient, statement: string, keys: Map<string, string>, cluster: string, db: string): Promise<void> {
  const { local, touched } = clusterStatement(statement, keys);
  const drop = /^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)/i.exec(statement)?.[1];
  if (drop && keys.has(drop)) await ch.command({ query: `DROP TABLE IF EXISTS ${drop}` });
  await ch.command({ query: local });
  for (const table of touched) await syncDistributed(ch, table, keys.get(table)!, cluster, db);
}

/**
 * A statement as it runs on each node in cluster mode, and the sharded tables whose `Distributed`
 * table must follow it (those a CREATE TABLE, ALTER TABLE or RENAME TABLE names).
 * @example clusterStatement('ALTER TABLE sms_log ADD COLUMN x String', new Map([['sms_log', 'cityHash64(job_id)']]))
 * // → { local: 'ALTER TABLE sms_log_local ADD COLUMN x String', touched: ['sms_log'] }
 */
export function clusterStatement(statement: string, keys: Map<string, string>): { local: string; touched: string[] } {
  const names = new Set<string>();
  const local = statement.replace(/\b[A-Za-z_][A-Za-z0-9_]*\b/g, (w) => {
    if (!keys.has(w)) return w;
    names.add(w);
    return `${w}_local`;
  });
  let touched: string[] = [];
  const head = /^\s*(CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?|ALTER\s+TABLE\s+)([A-Za-z_][A-Za-z0-9_]*)/i.exec(statement);
  if (head && keys.has(head[2]!)) touched = [head[2]!];
  else if (/^\s*RENAME\s+TABLE\b/i.test(statement)) touched = [...names];
  return { local, touched };
}

async function syncDistributed(ch: ClickHouseClient, table: string, key: string, cluster: string, db: string): Promise<void> {
  const localName = `${table}_local`;
  const tables = await selectRows<{ name: string; engine: string }>(
    ch,
    sql`SELECT name, engine FROM system.tables WHERE database = ${db} AND name IN (${table}, ${localName})`.text,
  );
  const dist = tables.find((t) => t.name === table);
  if (dist && dist.engine !== 'Distributed') {
    throw new ClickHouseClusterConfigError(
      `${db}.${table} is a ${dist.engine} table; in cluster mode it must be the Distributed table over ${localName}`,
    );
  }
  if (!tables.some((t) => t.name === localName)) {
    if (dist) await ch.command({ query: `DROP TABLE ${table}` });
    return;
  }
  if (dist) {
    const columns = async (t: string) =>
      (
        await selectRows<{ name: string; type: string }>(
          ch,
          sql`SELECT name, type FROM system.columns WHERE database = ${db} AND table = ${t}`.text,
        )
      )
        .map((c) => `${c.name} ${c.type}`)
        .join(', ');
    if ((await columns(table)) === (await columns(localName))) return;
    await ch.command({ query: `DROP TABLE ${table}` });
  }
  await ch.command({
    query: `CREATE TABLE IF NOT EXISTS ${table} AS ${localName}
      ENGINE = Distributed(${quoteString(cluster)}, ${quoteString(db)}, ${quoteString(localName)}, ${key})`,
  });
}
