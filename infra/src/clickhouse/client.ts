import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { ClickHouseClientLogger } from './client-logger.ts';
import { localTable, originOf, parseClickHouseCluster, rememberOrigin } from './cluster.ts';

export * from './cluster.ts';

export type { ClickHouseClient };

/**
 * A ClickHouse HTTP client that works with Debian's 18.16 and current releases: no session
 * settings the old server does not know, and values formatted on the client (see sql.ts).
 */
export function connectClickHouse(url: string, database = 'default', opts: { requestTimeoutMs?: number } = {}): ClickHouseClient {
  const u = new URL(url);
  const cluster = parseClickHouseCluster(url);
  const timeout = opts.requestTimeoutMs ?? 60_000;
  const db = u.pathname.length > 1 ? u.pathname.slice(1) : database;
  const ch = createClient({
    url: `${u.protocol}//${u.host}`,
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
    database: db,
    request_timeout: timeout,
    // 18.16 rejects unknown settings, and the client's defaults add none when this is empty. A
    // request allowed more than a minute (a long OPTIMIZE) has the server send progress headers
    // every 20 s, so that an idle-connection timeout between the two does not cut it (both
    // settings exist in 18.16).
    // In cluster mode an insert into a Distributed table returns once every shard has its rows
    // (cluster.ts), instead of once they are queued on the entry node's disk.
    clickhouse_settings: {
      ...(timeout > 60_000 ? { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '20000' } : {}),
      ...(cluster ? { insert_distributed_sync: 1 } : {}),
    },
    compression: { request: false, response: false },
    // Close idle sockets well before the server does (30 s in infra/clickhouse/config.xml, 3 s in
    // stock configs), or a reused keep-alive socket can end in "socket hang up".
    keep_alive: { enabled: true, idle_socket_ttl: 2000 },
    // The client logs every failed request itself; while the server is down that floods the log
    // (the caller gets the error as well), so its lines are throttled per distinct message.
    log: { LoggerClass: ClickHouseClientLogger, level: ClickHouseLogLevel.WARN },
  });
  rememberOrigin(ch, { host: u.host, cluster, database: db, requestTimeoutMs: opts.requestTimeoutMs });
  return ch;
}

/** One node's client and how a table's rows are named there. */
export interface ClickHouseNode {
  url: string;
  client: ClickHouseClient;
  /** The node-local table holding `table`'s rows (`<table>_local` in cluster mode). */
  local(table: string): string;
}

/**
 * Runs `fn` with a client per node: in cluster mode one per node of `ch`'s cluster (closed
 * afterwards), else `ch` itself with tables under their own names. For per-table upkeep (OPTIMIZE,
 * DROP PARTITION, `system.parts`) and DDL, which a `Distributed` table does not pass on to its shards.
 */
export async function withClickHouseNodes<T>(ch: ClickHouseClient, fn: (nodes: ClickHouseNode[]) => Promise<T>): Promise<T> {
  const origin = originOf(ch);
  const cluster = origin?.cluster;
  if (!origin || !cluster) return fn([{ url: '', client: ch, local: (t) => t }]);
  const nodes = cluster.nodes.map((url) => ({
    url,
    client: connectClickHouse(url, origin.database, { requestTimeoutMs: origin.requestTimeoutMs }),
    local: (t: string) => localTable(t, cluster),
  }));
  try {
    return await fn(nodes);
  } finally {
    await Promise.all(nodes.map((n) => n.client.close()));
  }
}

/** Runs one query and returns its rows as objects. */
export async function selectRows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}
