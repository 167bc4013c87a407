import type { ClickHouseClient, Logger } from '@geo/infra';
import type { SendLogRow } from './schema.ts';

/**
 * Batches send-log rows into ClickHouse inserts (thousands per query, as 18.16 wants them).
 * `write` resolves once the rows are stored, so a caller can ack its JetStream messages after it.
 */
export class SendLogWriter {
  private rows: SendLogRow[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  rowsWritten = 0;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly table = 'sms_log',
    private readonly opts: { maxRows?: number; maxDelayMs?: number; log?: Logger } = {},
  ) {}

  write(rows: SendLogRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    for (const r of rows) this.rows.push(r);
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    // ClickHouse 18.16 wants 10k–100k rows per insert (each insert is a part: files to write and
    // merge); 200 ms still keeps a job's ack well inside its AckWait.
    if (this.rows.length >= (this.opts.maxRows ?? 20_000)) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.opts.maxDelayMs ?? 200);
    return p;
  }

  /** Writes what is buffered; failures are retried a few times, then reported to the writers. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.rows;
    const waiters = this.waiters;
    this.rows = [];
    this.waiters = [];
    if (rows.length === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.ch.insert({ table: this.table, values: rows, format: 'JSONEachRow' });
          this.rowsWritten += rows.length;
          for (const w of waiters) w.resolve();
          return;
        } catch (err) {
          if (attempt >= 3) {
            this.opts.log?.error({ err, rows: rows.length }, 'send-log insert failed');
            for (const w of waiters) w.reject(err);
            return;
          }
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    });
    return this.flushing;
  }
}
