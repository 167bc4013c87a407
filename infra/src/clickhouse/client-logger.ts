import type { Logger as ChLogger, ErrorLogParams, LogParams, WarnLogParams } from '@clickhouse/client';
import type { Logger } from 'pino';
import { createLogger } from '../runtime/logger.ts';

/** At most one line per distinct client message in this window; the rest are counted. */
export const CLICKHOUSE_LOG_WINDOW_MS = 30_000;

/**
 * The ClickHouse client's own log, through pino and throttled: while the server is down every
 * failed request would print the same error (the caller gets the error too and decides what to
 * do), so each distinct message is written at most once per window, with the count of the ones
 * left out since the last line.
 */
export class ThrottledClickHouseLog {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly out: Logger,
    private readonly windowMs = CLICKHOUSE_LOG_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  write(level: 'debug' | 'info' | 'warn' | 'error', p: LogParams & { err?: Error }): void {
    const key = `${level}\u0000${p.module}\u0000${p.message}\u0000${p.err?.message ?? ''}`;
    const t = this.now();
    const last = this.seen.get(key);
    if (last && t - last.at < this.windowMs) {
      last.suppressed++;
      return;
    }
    if (this.seen.size > 1000) this.seen.clear();
    this.seen.set(key, { at: t, suppressed: 0 });
    const fields: Record<string, unknown> = { module: p.module };
    if (p.args) fields.args = p.args;
    if (p.err) fields.err = p.err;
    if (last?.suppressed) fields.suppressed = last.suppressed;
    this.out[level](fields, p.message);
  }
}

let shared: ThrottledClickHouseLog | undefined;

/** The class the client instantiates (it takes no arguments), sharing one throttle per process. */
export class ClickHouseClientLogger implements ChLogger {
  private readonly log = (shared ??= new ThrottledClickHouseLog(createLogger('clickhouse-client', 'info')));
  trace(): void {}
  debug(p: LogParams): void {
    this.log.write('debug', p);
  }
  info(p: LogParams): void {
    this.log.write('info', p);
  }
  warn(p: WarnLogParams): void {
    this.log.write('warn', p);
  }
  error(p: ErrorLogParams): void {
    this.log.write('error', p);
  }
}
