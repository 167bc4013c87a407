import { headers } from '@nats-io/transport-node';
import { list, selectRows, sql, ident, raw, type ClickHouseClient, type Logger, type NatsConnection } from '@geo/infra';
import {
  MAX_STATUSES_PER_BATCH,
  type DeliveryState,
  type DeliveryStatus,
  type DeliveryStatusBatch,
  type SmsCarrier,
  type SmsJob,
} from '../contract.ts';
import type { MessagingNames } from '../names.ts';
import { rowVersion, type SendLogRow } from '../send-log/schema.ts';
import { SendLogWriter } from '../send-log/send-log-writer.ts';
import type { RowState } from './context.ts';

/** Anything that can be acked on NATS: a job's JsMsg, or one job's part of a batch's. */
export interface Ackable {
  ack(): void;
}

/**
 * The sender's storage: send-log rows and the status events that go with them, acks written
 * together with those events, and the send-log lookups the sender needs (is a job logged, which
 * rows have these message ids, what was last sent to a number).
 */
export class SendRecords {
  private readonly writer: SendLogWriter;
  private natsOut: (() => void)[] = [];
  /** Statuses waiting for their window's message, by subject (`statusBatchMs` > 0). */
  private statusOut = new Map<string, DeliveryStatus[]>();
  private statusTimer?: NodeJS.Timeout;
  private loggedQueue: { jobId: string; resolve: (found: boolean) => void; reject: (e: unknown) => void }[] = [];
  private loggedTimer?: NodeJS.Timeout;
  private sourceQueue: { key: string; resolve: (s: 'alert' | 'industry' | undefined) => void }[] = [];
  private sourceTimer?: NodeJS.Timeout;

  constructor(
    private readonly o: {
      nc: NatsConnection;
      ch: ClickHouseClient;
      log: Logger;
      names: MessagingNames;
      table: string;
      /** Statuses of this window go out as one DeliveryStatusBatch per subject; 0: one message per status. @default 0 */
      statusBatchMs?: number;
    },
  ) {
    this.writer = new SendLogWriter(o.ch, o.table, { log: o.log });
  }

  /** Send-log rows stored so far (a job's versions that met in one insert count once). */
  get rowsWritten(): number {
    return this.writer.rowsWritten;
  }

  /** Whether send-log rows reach ClickHouse now, for /healthz. */
  health(): { ok: boolean; detail: string; queued: number } {
    return this.writer.health();
  }

  /** Writes what is queued for NATS and closes the send-log writer. */
  async close(): Promise<void> {
    await this.writer.close();
    this.flushStatuses();
    for (const f of this.natsOut.splice(0)) f();
  }

  /** The job's send-log row (a new version) and, unless `unknown`, its status event. */
  async record(s: RowState, status: DeliveryState | 'unknown', code: string, atMs: number, reason?: string): Promise<void> {
    const row: SendLogRow = {
      job_id: s.job.jobId,
      source: s.job.source,
      enterprise_id: s.job.enterpriseId,
      account_id: s.job.accountId,
      send_id: s.job.sendId,
      task: s.job.task ?? 0,
      msisdn: s.job.msisdn,
      carrier: s.carrier,
      smsc: s.smscId,
      segments: s.segments,
      created_at: Math.floor(s.job.createdAt / 1000),
      submit_time: Math.floor(s.submitMs / 1000),
      message_id: s.messageIds[0] ?? '',
      message_ids: s.messageIds,
      status,
      code,
      status_time: Math.floor(atMs / 1000),
      version: rowVersion(status, atMs),
    };
    await this.writer.write([row]);
    if (status === 'unknown') return;
    const ev: DeliveryStatus = {
      jobId: s.job.jobId,
      sendId: s.job.sendId,
      enterpriseId: s.job.enterpriseId,
      accountId: s.job.accountId,
      msisdn: s.job.msisdn,
      carrier: s.carrier,
      state: status,
      code: code || undefined,
      reason,
      messageId: s.messageIds[0],
      segments: s.segments,
      at: atMs,
    };
    // A live notice (the send log is the record): a plain publish into SMS_EVENTS, not one
    // JetStream request and ack per event, which cost more than the whole SMPP exchange.
    if (this.o.statusBatchMs) return this.queueStatus(this.o.names.statusSubject(s.carrier), ev);
    const h = headers();
    h.set('Nats-Msg-Id', `${s.job.jobId}:${status}`);
    const subject = this.o.names.statusSubject(s.carrier);
    const data = JSON.stringify(ev);
    this.toNats(() => {
      try {
        this.o.nc.publish(subject, data, { headers: h });
      } catch (err) {
        this.o.log.warn({ err, jobId: s.job.jobId }, 'status event not published (the send log has it)');
      }
    });
  }

  /**
   * Batched status events: one NATS message per subject and window (`statusBatchMs`, or
   * MAX_STATUSES_PER_BATCH statuses) instead of one per status. Per status, the message, its
   * Msg-Id header and the stream's store and write in nats-server cost more than the status.
   */
  private queueStatus(subject: string, ev: DeliveryStatus): void {
    let q = this.statusOut.get(subject);
    if (!q) this.statusOut.set(subject, (q = []));
    q.push(ev);
    if (q.length >= MAX_STATUSES_PER_BATCH) {
      this.statusOut.delete(subject);
      this.publishStatuses(subject, q);
    } else if (!this.statusTimer) this.statusTimer = setTimeout(() => this.flushStatuses(), this.o.statusBatchMs);
  }

  private flushStatuses(): void {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    const out = this.statusOut;
    this.statusOut = new Map();
    for (const [subject, statuses] of out) this.publishStatuses(subject, statuses);
  }

  private publishStatuses(subject: string, statuses: DeliveryStatus[]): void {
    const batch: DeliveryStatusBatch = { v: 1, statuses };
    try {
      this.o.nc.publish(subject, JSON.stringify(batch));
    } catch (err) {
      this.o.log.warn({ err, statuses: statuses.length }, 'status events not published (the send log has them)');
    }
  }

  ack(m: Ackable): void {
    this.toNats(() => m.ack());
  }

  /**
   * Acks and status events of one event-loop turn go to the NATS client together: it writes to its
   * socket once per microtask checkpoint, and jobs finishing in their own continuations otherwise
   * made it write (a syscall) for nearly every ack and event.
   */
  private toNats(fn: () => void): void {
    this.natsOut.push(fn);
    if (this.natsOut.length === 1) {
      setImmediate(() => {
        const out = this.natsOut;
        this.natsOut = [];
        for (const f of out) f();
      });
    }
  }

  /** Whether the send log has a row for the job; lookups are batched (after a restart there are many). */
  logged(jobId: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.loggedQueue.push({ jobId, resolve, reject });
      if (!this.loggedTimer) {
        this.loggedTimer = setTimeout(() => {
          this.loggedTimer = undefined;
          const batch = this.loggedQueue.splice(0);
          selectRows<{ job_id: string }>(
            this.o.ch,
            sql`SELECT DISTINCT job_id FROM ${ident(this.o.table)} WHERE created_at >= now() - 8 * 86400 AND job_id IN ${list(batch.map((b) => b.jobId))}`
              .text,
          ).then(
            (rows) => {
              const found = new Set(rows.map((r) => r.job_id));
              for (const b of batch) b.resolve(found.has(b.jobId));
            },
            (err: unknown) => {
              for (const b of batch) b.reject(err);
            },
          );
        }, 50);
      }
    });
  }

  /** The logged rows (final versions) of the carriers' jobs with any of these message ids, or these job ids. */
  rowsFor(carriers: string[], messageIds: string[], jobIds: string[]): Promise<SendLogRow[]> {
    return selectRows<SendLogRow>(
      this.o.ch,
      sql`SELECT ${raw(ROW_COLUMNS)} FROM ${ident(this.o.table)} FINAL WHERE created_at >= now() - 8 * 86400
        AND ((carrier IN ${list(carriers)} AND hasAny(message_ids, ${messageIds})) OR job_id IN ${list(jobIds)})`.text,
    );
  }

  /**
   * The source of the last SMS the send log has to a number from a carrier within 7 days (batched
   * lookups: an alert to a city can bring thousands of replies at once); undefined when none, or
   * when the send log cannot be read (the reply is then counted as no_extension).
   */
  lastSourceTo(carrier: SmsCarrier, msisdn: string): Promise<'alert' | 'industry' | undefined> {
    return new Promise((resolve) => {
      this.sourceQueue.push({ key: `${carrier}|${msisdn}`, resolve });
      if (this.sourceTimer) return;
      this.sourceTimer = setTimeout(() => {
        this.sourceTimer = undefined;
        const batch = this.sourceQueue.splice(0);
        const numbers = [...new Set(batch.map((b) => b.key.split('|')[1]!))];
        selectRows<{ carrier: string; msisdn: string; source: string }>(
          this.o.ch,
          sql`SELECT carrier, msisdn, argMax(source, submit_time) AS source FROM ${ident(this.o.table)}
            WHERE created_at >= now() - 7 * 86400 AND msisdn IN ${list(numbers)} AND NOT (job_id LIKE 'fwd-%') GROUP BY carrier, msisdn`
            .text,
        ).then(
          (rows) => {
            const by = new Map(
              rows.map((r) => [`${r.carrier}|${r.msisdn}`, r.source === 'alert' ? ('alert' as const) : ('industry' as const)]),
            );
            for (const b of batch) b.resolve(by.get(b.key));
          },
          (err: unknown) => {
            this.o.log.warn({ err }, 'send log not readable: replies to the bare access number counted as no_extension');
            for (const b of batch) b.resolve(undefined);
          },
        );
      }, 100);
    });
  }
}

/** The job a send-log row was written for (its text is not kept: '-'). */
export function jobOfRow(row: SendLogRow): SmsJob {
  return {
    jobId: row.job_id,
    source: row.source as SmsJob['source'],
    enterpriseId: row.enterprise_id,
    accountId: row.account_id,
    sendId: row.send_id,
    task: row.task,
    msisdn: row.msisdn,
    carrier: row.carrier as SmsCarrier,
    content: '-',
    signature: '-',
    createdAt: row.created_at * 1000,
  };
}

/** Send-log columns with times as unix seconds (JSON would give them as local-time strings). */
const ROW_COLUMNS = `job_id, source, enterprise_id, account_id, send_id, task, msisdn, carrier, segments, toUnixTimestamp(created_at) AS created_at,
  smsc, toUnixTimestamp(submit_time) AS submit_time, message_id, message_ids, status, code, toUnixTimestamp(status_time) AS status_time, version`;
