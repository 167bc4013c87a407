import { DeliverPolicy, JetStreamApiError, jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { DEFAULT_STALL_MS, durableProgress, ensureConsumer, jetstreamManager, ms, superviseConsume } from '@geo/infra';
import type { SmsCarrier } from '../contract.ts';
import { messagingNames } from '../names.ts';
import { ClaimLog, jobsRedeliverableSince } from './claim-log.ts';
import type { SenderContext } from './context.ts';
import { JobIntake } from './job-intake.ts';
import { JobPolicy } from './job-policy.ts';
import { newSenderCounts, senderMetrics, type SenderCounts } from './metrics.ts';
import type { SenderOptions } from './options.ts';
import { Receipts } from './receipts.ts';
import { Replies } from './replies.ts';
import { SendRecords } from './send-records.ts';
import { UncertainJobs } from './uncertain-jobs.ts';

export type { SenderOptions, UncertainPolicy } from './options.ts';
export type { UnmatchedReceiptReason } from './receipts.ts';

/**
 * The sending side of messaging: consumes SMS_JOBS, submits each job at most once (a KV claim is
 * written just before the first part goes on the wire; a redelivered job finds it and is not sent
 * again), records the carrier message ids in the send log before acking, turns receipts into final
 * statuses and replies into SmsReply events (and forwarded SMS).
 */
export class SmsSender {
  private readonly c: SenderContext;
  private readonly intake: JobIntake;
  private readonly receipts: Receipts;
  /** The running consume loop of each carrier's consumer, and how to stop it. */
  private readonly loops = new Map<SmsCarrier, () => Promise<void>>();
  private receiptSub?: { unsubscribe(): void };
  private heartbeat?: NodeJS.Timeout;
  /** For the stall watchdogs' consumer infos (one manager, not one per question). */
  private jsm?: Promise<JetStreamManager>;
  /** What the sender did since it started (tests and the bench read these). */
  readonly counts = newSenderCounts();

  constructor(o: SenderOptions) {
    const names = o.names ?? messagingNames();
    const metrics = senderMetrics(o.registry);
    const records = new SendRecords({ nc: o.nc, ch: o.ch, log: o.log, names, table: o.table ?? 'sms_log', statusBatchMs: o.statusBatchMs });
    this.c = {
      o,
      names,
      js: jetstream(o.nc),
      metrics,
      counts: this.counts,
      records,
      uncertain: new UncertainJobs({
        record: (s, status, code, at) => records.record(s, status, code, at),
        metrics,
        counts: this.counts,
        unknownReceiptMs: o.unknownReceiptMs,
      }),
      byMessageId: new Map(),
      claims: undefined as unknown as ClaimLog, // set by start(), before the first job
      stopping: false,
    };
    this.intake = new JobIntake(this.c, new JobPolicy(this.c), (carrier) => this.loops.has(carrier));
    this.receipts = new Receipts(this.c);
    const replies = new Replies(this.c);
    for (const c of o.connectors.values()) {
      c.onReceipt((r) => this.receipts.onReceipt(r));
      c.onReply((r) => replies.onReply(r));
      c.onBadDeliver((b) => this.receipts.deadLetterDeliver(b.carrier, b.reason, b.fields ?? {}));
    }
  }

  /** The durable consumer of one carrier's jobs (`messaging-cmcc` …), shared by all instances. */
  private consumerOf(c: SmsCarrier): string {
    return `${this.c.names.consumer}-${c}`;
  }

  async start(): Promise<void> {
    const jsm = await jetstreamManager(this.c.o.nc);
    // One durable per carrier, so that an instance takes only the carriers it holds binds of. The
    // single durable of earlier versions (`messaging`) hands over at its ack floor: a new carrier
    // consumer starts there instead of at the stream's start (7 days of jobs).
    let legacyFloor: number | undefined;
    try {
      legacyFloor = (await jsm.consumers.info(this.c.names.jobsStream, this.c.names.consumer)).ack_floor.stream_seq;
    } catch (err) {
      if (!(err instanceof JetStreamApiError)) throw err;
    }
    for (const c of this.c.o.connectors.keys()) {
      await ensureConsumer(jsm, this.c.names.jobsStream, {
        durable_name: this.consumerOf(c),
        filter_subject: this.c.names.jobSubject(c),
        ack_wait: ms(this.c.o.ackWaitMs ?? 60_000),
        max_deliver: -1,
        max_ack_pending: this.c.o.maxInFlight ?? 5000,
        ...(legacyFloor === undefined ? {} : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: legacyFloor + 1 }),
      });
    }
    // Not the legacy durable: what it had unacked, the carrier consumers (starting at its floor) hand out.
    const consumers = [...this.c.o.connectors.keys()].map((c) => this.consumerOf(c));
    // Rebuilt before the first job is taken (see ClaimLog for why this keeps at most once).
    this.c.claims = await ClaimLog.open(this.c.o.nc, {
      stream: this.c.names.claimsStream,
      subject: this.c.names.claimsSubject,
      replicas: this.c.o.replicas ?? 1,
      log: this.c.o.log,
      stallMs: this.c.o.stallMs,
      onRestart: (reason) => this.c.metrics.restarts.inc({ consumer: 'claims-tail', reason }),
      since: () => jobsRedeliverableSince(this.c.o.nc, this.c.names.jobsStream, consumers),
    });
    this.receiptSub = this.c.o.nc.subscribe(this.c.names.receiptsSubject, {
      callback: (err, msg) => void (err ? undefined : this.receipts.peerReceipts(msg)),
    });
    if (!this.c.o.leasedCarriers) for (const c of this.c.o.connectors.keys()) await this.resume(c);
    // A job waiting for its carrier's throughput must not be redelivered meanwhile.
    this.heartbeat = setInterval(
      () => {
        for (const m of this.intake.inHand) m.working();
      },
      Math.max(1000, (this.c.o.ackWaitMs ?? 60_000) / 3),
    );
    this.heartbeat.unref();
  }

  /**
   * Takes the carrier's jobs (this instance holds a bind slot of it). Idempotent. Never fails: the
   * carrier's consumer is opened, and opened again whenever its iterator ends, fails or stalls, with
   * back-off, until `pause`; it returns at once (a rebind during a cluster's leader election found `consumers.get`
   * failing, and the carrier stayed marked as taken with nothing consuming it, #19).
   */
  async resume(c: SmsCarrier): Promise<void> {
    if (this.loops.has(c) || this.c.stopping) return;
    const consumer = this.consumerOf(c);
    const stream = this.c.names.jobsStream;
    const max = Math.min(1000, this.c.o.maxInFlight ?? 5000);
    const loop = superviseConsume({
      what: { carrier: c, consumer },
      log: this.c.o.log,
      open: async () => (await this.c.js.consumers.get(stream, consumer)).consume({ max_messages: max }),
      handle: (m) => void this.intake.handle(m),
      onRestart: (reason) => this.c.metrics.restarts.inc({ consumer, reason }),
      stall: {
        ms: this.c.o.stallMs ?? DEFAULT_STALL_MS,
        progress: async () => durableProgress(await (this.jsm ??= jetstreamManager(this.c.o.nc)), stream, consumer),
      },
    });
    this.loops.set(c, () => loop.stop());
    this.c.o.log.info({ carrier: c }, "taking the carrier's jobs");
    // Not awaited: the lease tick that called this renews the other leases after it, and a cluster
    // electing its leaders can take seconds to answer consumers.get.
    void loop.opened.then((ok) => ok || this.c.o.log.warn({ carrier: c }, "the carrier's consumer could not be opened yet; trying again"));
  }

  /**
   * Stops taking the carrier's jobs (no bind slot of it is held here any more); jobs in hand are
   * handed back by the connector as it finds no slot.
   */
  async pause(c: SmsCarrier): Promise<void> {
    const stop = this.loops.get(c);
    if (!stop) return;
    this.loops.delete(c);
    await stop();
    this.c.o.log.info({ carrier: c }, "no longer taking the carrier's jobs");
  }

  /** Carriers whose jobs are taken now. */
  activeCarriers(): SmsCarrier[] {
    return [...this.loops.keys()];
  }

  async stop(): Promise<void> {
    this.c.stopping = true;
    this.intake.stop();
    clearInterval(this.heartbeat);
    this.receiptSub?.unsubscribe();
    await Promise.all([...this.loops.values()].map((stop) => stop()));
    this.loops.clear();
    await this.c.records.close();
    await (this.c.claims as ClaimLog | undefined)?.close();
  }

  /** Whether send-log rows reach ClickHouse now, for /healthz. */
  sendLogHealth(): { ok: boolean; detail: string; queued: number } {
    return this.c.records.health();
  }

  /** Jobs accepted by a carrier and still waiting for their receipts. */
  get awaitingReceipts(): number {
    return this.c.byMessageId.size;
  }

  /**
   * What the sender did since it started and how its claims were batched (the bench reads these;
   * before `start` the claims are all 0).
   */
  stats(): SenderStats {
    const claims = (this.c.claims as ClaimLog | undefined)?.counts ?? { batches: 0, claims: 0, rebuilt: 0 };
    return { ...this.counts, claims: { ...claims }, awaitingReceipts: this.c.byMessageId.size, sendLogRows: this.c.records.rowsWritten };
  }
}

/** A snapshot of {@link SmsSender.stats}. */
export type SenderStats = SenderCounts & {
  /** Claims stored (`claims`) in how many publishes (`batches`), and claims read back at start (`rebuilt`). */
  claims: ClaimLog['counts'];
  awaitingReceipts: number;
  /** Send-log rows stored (a job's versions that met in one insert count once). */
  sendLogRows: number;
};
