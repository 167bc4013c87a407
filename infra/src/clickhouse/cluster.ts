import type { ClickHouseClient } from '@clickhouse/client';

/**
 * Cluster mode, chosen by `CLICKHOUSE_URL`: `http://ch1:8123/geo?cluster=geo&nodes=ch1:8123,ch2:8123`.
 *
 * - `cluster` names the `remote_servers` entry of the servers' config. Each table a migration marks
 *   with a sharding key becomes `<table>_local` on every node, and `<table>` a `Distributed` table over
 *   them on every node, so readers and writers keep their table names (see migrate.ts).
 * - `nodes` lists every node's HTTP address (host:port; scheme, user, password and database are the
 *   URL's). Without ZooKeeper there is no `ON CLUSTER` DDL, so migrations and per-table upkeep
 *   (OPTIMIZE, DROP PARTITION) connect to each node in turn; `system.clusters` lists native-protocol
 *   ports only, hence the list.
 *
 * Queries and inserts go to the URL's host. Inserts there are synchronous (`insert_distributed_sync`):
 * an insert returns once every shard stored its rows, so a writer that retries until success (the
 * sink, the send log) loses nothing, and the ReplacingMergeTree keys absorb a retried duplicate.
 */
export interface ClickHouseCluster {
  /** The `remote_servers` name. */
  name: string;
  /** Every node's URL (with the entry URL's credentials and database), in the order given. */
  nodes: string[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;

export class ClickHouseClusterConfigError extends Error {
  override name = 'ClickHouseClusterConfigError';
  readonly code = 'CLICKHOUSE_CLUSTER_CONFIG';
}

/** The cluster a `CLICKHOUSE_URL` names, or undefined for one node. Throws on a malformed `cluster` or `nodes`. */
export function parseClickHouseCluster(url: string): ClickHouseCluster | undefined {
  const u = new URL(url);
  const name = u.searchParams.get('cluster');
  if (name === null || name === '') {
    if (u.searchParams.has('nodes')) throw new ClickHouseClusterConfigError('CLICKHOUSE_URL: nodes= needs cluster=<name>');
    return undefined;
  }
  if (!IDENT.test(name))
    throw new ClickHouseClusterConfigError(`CLICKHOUSE_URL: cluster must be a plain name, not ${JSON.stringify(name)}`);
  const list = (u.searchParams.get('nodes') ?? u.host).split(',').map((h) => h.trim());
  for (const h of list) {
    if (!HOST_PORT.test(h)) throw new ClickHouseClusterConfigError(`CLICKHOUSE_URL: nodes must be host:port, not ${JSON.stringify(h)}`);
  }
  const nodes = list.map((h) => {
    const n = new URL(`${u.protocol}//${h}${u.pathname}`);
    n.username = u.username;
    n.password = u.password;
    return n.toString().replace(/\/$/, '');
  });
  return { name, nodes };
}

/** A cluster-mode URL: `entry` with `cluster` and every node's host:port. */
export function clickhouseClusterUrl(entry: string, name: string, nodes: string[]): string {
  const u = new URL(entry);
  u.search = '';
  return `${u.toString()}?cluster=${name}&nodes=${nodes.map((n) => new URL(n).host).join(',')}`;
}

/** How a client was made, so that cluster-mode code can reach every node with the same settings. */
export interface ClickHouseOrigin {
  /** host:port the client talks to. */
  host: string;
  cluster?: ClickHouseCluster;
  database: string;
  requestTimeoutMs?: number;
}

const origins = new WeakMap<ClickHouseClient, ClickHouseOrigin>();

/** @internal connectClickHouse records each client's origin. */
export function rememberOrigin(ch: ClickHouseClient, origin: ClickHouseOrigin): void {
  origins.set(ch, origin);
}

/** The cluster this client's URL named, or undefined for one node. */
export function clickhouseCluster(ch: ClickHouseClient): ClickHouseCluster | undefined {
  return origins.get(ch)?.cluster;
}

/** @internal */
export function originOf(ch: ClickHouseClient): ClickHouseOrigin | undefined {
  return origins.get(ch);
}

/** Where a table's rows are kept on one node: its own name on one node, `<table>_local` in cluster mode. */
export function localTable(table: string, cluster: ClickHouseCluster | undefined): string {
  return cluster ? `${table}_local` : table;
}

/** One node's client and how a table's rows are named there. */
export interface ClickHouseNode {
  url: string;
  client: ClickHouseClient;
  /** The node-local table holding `table`'s rows (`<table>_local` in cluster mode). */
  local(table: string): string;
}
