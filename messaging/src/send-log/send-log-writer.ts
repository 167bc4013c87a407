import type { ClickHouseClient, Logger } from '@geo/infra';
import type { SendLogRow } from './schema.ts';

/** Refused at once: the buffer of rows waiting for ClickHouse is full (ClickHouse down too long). */
export class SendLogFullError extends Error {
  readonly code = 'SEND_LOG_FULL';
  constructor(queued: number) {
    super(`send log: ${queued} rows already wait for ClickHouse; refusing more until it is back`);
    this.name = 'SendLogFullError';
  }
}

export interface SendLogWriterOptions {
  /** Rows per insert at most. @default 20000 */
  maxRows?: number;
  /** @default 200 */
  maxDelayMs?: number;
  /**
   * Rows kept while ClickHouse cannot be written (it is down, or restarting); beyond it `write`
   * refuses (the caller naks its job and it comes back later). @default 200000
   */
  maxQueued?: number;
  /** Longest pause between insert attempts. @default 5000 */
  maxBackoffMs?: number;
  log?: Logger;
}

/**
 * Batches send-log rows into ClickHouse inserts (thousands per query, as 18.16 wants them).
 * `write` resolves once the rows are stored, so a caller can ack its JetStream messages after it.
 * A failed insert is retried with backoff until it succeeds (ClickHouse down or restarting: the
 * rows wait, bounded by `maxQueued`), so a job is never acked without its row, nor its row lost.
 */
export class SendLogWriter {
  private rows: SendLogRow[] = [];
  /** Where each job's row waits in `rows` (by its ReplacingMergeTree key), to fold a newer version in. */
  private at = new Map<string, number>();
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  rowsWritten = 0;
  /** Rows written to no insert yet or in one not yet stored. */
  queued = 0;
  /** The last insert's error while inserts fail; undefined once one succeeds. */
  lastError?: string;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly table = 'sms_log',
    private readonly opts: SendLogWriterOptions = {},
  ) {}

  /** Whether inserts succeed now (the last one did), with a line for /healthz. */
  health(): { ok: boolean; detail: string; queued: number } {
    const queued = this.queued;
    return this.lastError === undefined
      ? { ok: true, detail: `${this.rowsWritten} rows written, ${queued} rows queued`, queued }
      : { ok: false, detail: `degraded: ClickHouse inserts failing (${this.lastError}); ${queued} rows queued, retrying`, queued };
  }

  write(rows: SendLogRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const max = this.opts.maxQueued ?? 200_000;
    if (this.queued + rows.length > max) return Promise.reject(new SendLogFullError(this.queued));
    // A job's versions waiting for the same insert are folded into its newest: with receipts that
    // come within the batching delay, a job's `submitted` row and its final row left in one insert,
    // twice the rows for ClickHouse to parse and merge away. The table keeps the highest version
    // of a key (the last one written among equals), so the result is the same; the earlier
    // version's writer is told when the newer row is stored. Not across inserts: one under way is
    // not changed.
    for (const r of rows) {
      const key = `${r.enterprise_id}|${r.send_id}|${r.job_id}`;
      const i = this.at.get(key);
      if (i === undefined) {
        this.at.set(key, this.rows.length);
        this.rows.push(r);
        this.queued++;
      } else if (r.version >= this.rows[i]!.version) this.rows[i] = r;
    }
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    // ClickHouse 18.16 wants 10k–100k rows per insert (each insert is a part: files to write and
    // merge); 200 ms still keeps a job's ack well inside its AckWait.
    if (this.rows.length >= (this.opts.maxRows ?? 20_000)) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.opts.maxDelayMs ?? 200);
    return p;
  }

  /** Writes what is buffered; resolves when it is stored (retrying as long as it takes). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.rows;
    const waiters = this.waiters;
    this.rows = [];
    this.at = new Map();
    this.waiters = [];
    if (rows.length === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.ch.insert({ table: this.table, values: rows, format: 'JSONEachRow' });
          this.rowsWritten += rows.length;
          this.queued -= rows.length;
          if (this.lastError !== undefined) this.opts.log?.info({ rows: rows.length, attempts: attempt }, 'send-log inserts work again');
          this.lastError = undefined;
          for (const w of waiters) w.resolve();
          return;
        } catch (err) {
          this.lastError = (err as Error).message.slice(0, 200);
          if (this.closed) {
            this.queued -= rows.length;
            for (const w of waiters) w.reject(err);
            return;
          }
          if (attempt === 3 || attempt % 20 === 0)
            this.opts.log?.error({ err: this.lastError, rows: rows.length, attempt }, 'send-log insert failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(this.opts.maxBackoffMs ?? 5000, 200 * 2 ** Math.min(attempt - 1, 6))));
        }
      }
    });
    return this.flushing;
  }

  /** Flushes; an insert that keeps failing then gives up (its writers are told) instead of retrying. */
  async close(timeoutMs = 5000): Promise<void> {
    const done = this.flush();
    const t = setTimeout(() => (this.closed = true), timeoutMs);
    await done;
    clearTimeout(t);
  }
}
