import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { ClickHouseClientLogger } from './client-logger.ts';

export type { ClickHouseClient };

/**
 * A ClickHouse HTTP client that works with Debian's 18.16 and current releases: no session
 * settings the old server does not know, and values formatted on the client (see sql.ts).
 */
export function connectClickHouse(url: string, database = 'default', opts: { requestTimeoutMs?: number } = {}): ClickHouseClient {
  const u = new URL(url);
  const timeout = opts.requestTimeoutMs ?? 60_000;
  return createClient({
    url: `${u.protocol}//${u.host}`,
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
    database: u.pathname.length > 1 ? u.pathname.slice(1) : database,
    request_timeout: timeout,
    // 18.16 rejects unknown settings, and the client's defaults add none when this is empty. A
    // request allowed more than a minute (a long OPTIMIZE) has the server send progress headers
    // every 20 s, so that an idle-connection timeout between the two does not cut it (both
    // settings exist in 18.16).
    clickhouse_settings: timeout > 60_000 ? { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '20000' } : {},
    compression: { request: false, response: false },
    // Close idle sockets well before the server does (30 s in infra/clickhouse/config.xml, 3 s in
    // stock configs), or a reused keep-alive socket can end in "socket hang up".
    keep_alive: { enabled: true, idle_socket_ttl: 2000 },
    // The client logs every failed request itself; while the server is down that floods the log
    // (the caller gets the error as well), so its lines are throttled per distinct message.
    log: { LoggerClass: ClickHouseClientLogger, level: ClickHouseLogLevel.WARN },
  });
}

/** Runs one query and returns its rows as objects. */
export async function selectRows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}
