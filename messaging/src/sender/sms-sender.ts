import { createHash } from 'node:crypto';
import { DeliverPolicy, JetStreamApiError, jetstream, type JsMsg } from '@nats-io/jetstream';
import { headers, type Msg } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import {
  deadLetterMsg,
  deadLetterWriter,
  describeIssues,
  ensureConsumer,
  jetstreamManager,
  list,
  ms,
  selectRows,
  sql,
  ident,
  raw,
  type ClickHouseClient,
  type Logger,
  type NatsConnection,
} from '@geo/infra';
import {
  DeliveryStatus,
  SmsJob,
  SmsJobBatch,
  SmsReply,
  isSmsJobBatch,
  jobsOfBatch,
  type DeliveryState,
  type SmsCarrier,
} from '../contract.ts';
import type { CarrierConnector, CarrierReceipt, CarrierReply } from '../smpp/connector.ts';
import type { ExtensionRegistry } from '../replies/extension-numbers.ts';
import { rowVersion, type SendLogRow } from '../send-log/schema.ts';
import { SendLogWriter } from '../send-log/send-log-writer.ts';
import { normalizeMsisdn, routeNumber } from '../routing/number-routing.ts';
import { extensionOf, replyReason, type ReplyReason } from '../replies/reply-reason.ts';
import { messagingNames, type MessagingNames } from '../names.ts';
import { JobPreparer, type PreparedJob } from './prepare-job.ts';
import { ClaimLog, jobsRedeliverableSince } from './claim-log.ts';
import { exemptionOf, type RecipientLimiter } from '../limits/recipient-limits.ts';

export interface SenderOptions {
  nc: NatsConnection;
  ch: ClickHouseClient;
  log: Logger;
  connectors: Map<SmsCarrier, CarrierConnector>;
  accessNumbers: Record<SmsCarrier, string>;
  extensions: ExtensionRegistry;
  /** Anti-bombing limits per (enterprise, number); none when absent. */
  limiter?: RecipientLimiter;
  names?: MessagingNames;
  table?: string;
  registry?: Registry;
  /** Unacked jobs in hand at once. @default 5000 */
  maxInFlight?: number;
  /** @default 60000 */
  ackWaitMs?: number;
  /**
   * A job claimed before a crash with no recorded outcome is matched to a receipt that echoes
   * its id (client_ref TLV, when the connector sends it) or else to a receipt from the same carrier's
   * SMSC whose message id is unknown and whose number is the job's. If none comes within this time,
   * `uncertainPolicy` decides. @default 600000
   */
  uncertainResolveMs?: number;
  /**
   * What happens to a job still uncertain after `uncertainResolveMs`:
   * - `resubmit` (default): no receipt came, so the carrier is taken not to have it and it is sent
   *   again (at least once: a duplicate only if the carrier took it and never sent its receipt);
   * - `fail`: recorded failed with code UNCERTAIN, never sent again (at most once: lost instead).
   */
  uncertainPolicy?: UncertainPolicy;
  /**
   * A receipt whose message id matches no job (in memory or in the send log) and whose ref names
   * no claimed job is refused (the carrier sends it again: its job may become known) for this
   * long from when it was first seen, then dead-lettered and accepted. @default 600000
   */
  unknownReceiptMs?: number;
  /** Delay before an uncertain job is looked at again. @default 2000 */
  uncertainRetryMs?: number;
  replicas?: number;
  /**
   * Several instances share the carriers' binds (leased bind slots): a carrier's jobs are taken
   * only while {@link SmsSender.resume} says this instance holds a slot of it. Off: every carrier's
   * jobs are taken from the start (one instance). @default false
   */
  leasedCarriers?: boolean;
  /**
   * This instance's id, and how many other instances share the carriers now: a receipt that one of
   * them is waiting for may come on our bind (an SMSC gives receipts to any bind of the account).
   */
  instance?: string;
  peers?: () => number;
}

type Ready = Extract<PreparedJob, { ok: true }>;

export type UncertainPolicy = 'resubmit' | 'fail';

interface Tracked {
  job: SmsJob;
  carrier: SmsCarrier;
  smscId: string;
  segments: number;
  submitMs: number;
  messageIds: string[];
  receipts: number;
  worst: DeliveryState;
}

/**
 * What handling one job needs of its message: the JsMsg of a single job, or a part of a batch's.
 * `handBack`: the job must go to another instance (no bind of its carrier is held here): a batch
 * is then handed back whole once its other jobs are done (they are found done when it comes again).
 */
type JobMsg = Pick<JsMsg, 'ack' | 'nak' | 'seq'> & { handBack?: () => void };

type RowState = { job: SmsJob; carrier: SmsCarrier; smscId: string; segments: number; submitMs: number; messageIds: string[] };

/** A job cut off by a crash between its claim and its recorded outcome (see `alreadyClaimed`). */
interface Uncertain {
  job: SmsJob;
  carrier: SmsCarrier;
  /** The number as submitted (routed), which the carrier's receipt names. */
  msisdn: string;
  segments: number;
  since: number;
}

/**
 * Where a carrier message id means something: the carrier and the SMSC that gave it (invariant 8).
 * Two carriers' SMSCs (or two SMSCs of one carrier) may well issue the same ids.
 */
const receiptKey = (carrier: string, smscId: string, messageId: string): string => `${carrier}|${smscId}|${messageId}`;

/** Why a receipt matched no job, as the `reason` label of `sms_receipts_unmatched_total`. */
export type UnmatchedReceiptReason = 'unknown_message_id';

const WORSE: Record<string, number> = { delivered: 1, expired: 2, rejected: 3, failed: 4 };

/**
 * The sending side of messaging: consumes SMS_JOBS, submits each job at most once (a KV claim is
 * written just before the first part goes on the wire; a redelivered job finds it and is not sent
 * again), records the carrier message ids in the send log before acking, turns receipts into final
 * statuses and replies into SmsReply events (and forwarded SMS).
 */
export class SmsSender {
  private readonly names: MessagingNames;
  private readonly table: string;
  private readonly js;
  private readonly writer: SendLogWriter;
  private readonly prep = new JobPreparer();
  private claims!: ClaimLog;
  private readonly byMessageId = new Map<string, Tracked>();
  private readonly uncertain = new Map<string, Uncertain>();
  /** Uncertain job ids by carrier and number, oldest first: receipts without our TLV find them so. */
  private readonly uncertainByNumber = new Map<string, string[]>();
  /**
   * Uncertain jobs of several parts resolved by a receipt found by number, with the parts whose
   * receipts may still come (their message ids were lost with the crash), for a while.
   */
  private readonly resolvedByNumber = new Map<string, { jobId: string; left: number; until: number }>();
  private readonly inHand = new Set<JsMsg>();
  /** Jobs of batches waiting to be tried again in this process. */
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private stopping = false;
  private readonly registered = new Set<string>();
  /** The running consume loop of each carrier's consumer, and how to stop it. */
  private readonly loops = new Map<SmsCarrier, () => Promise<void>>();
  private receiptSub?: { unsubscribe(): void };
  private heartbeat?: NodeJS.Timeout;
  private unmatched: { r: CarrierReceipt; resolve: (ok: boolean) => void }[] = [];
  private unmatchedTimer?: NodeJS.Timeout;
  private readonly metrics;
  readonly counts = {
    jobs: 0,
    submitted: 0,
    rejected: 0,
    failed: 0,
    duplicates: 0,
    uncertain: 0,
    resubmitted: 0,
    receipts: 0,
    final: 0,
    replies: 0,
    unmatchedReplies: 0,
    badDelivers: 0,
    limited: 0,
    limitedAgain: 0,
    handedBack: 0,
    peerReceipts: 0,
    forwarded: 0,
  };

  constructor(private readonly o: SenderOptions) {
    this.names = o.names ?? messagingNames();
    this.table = o.table ?? 'sms_log';
    this.js = jetstream(o.nc);
    this.writer = new SendLogWriter(o.ch, this.table, { log: o.log });
    const reg = o.registry ? [o.registry] : [];
    this.metrics = {
      jobs: new Counter({ name: 'sms_jobs_total', help: 'SMS jobs by outcome', labelNames: ['carrier', 'outcome'], registers: reg }),
      receipts: new Counter({
        name: 'sms_receipts_total',
        help: 'Delivery receipts by state',
        labelNames: ['carrier', 'state'],
        registers: reg,
      }),
      // By reason (replies/reply-reason.ts): only unknown_extension and other_number are faults.
      replies: new Counter({
        name: 'sms_replies_total',
        help: 'Replies (MO) by how they were matched (reason)',
        labelNames: ['carrier', 'reason'],
        registers: reg,
      }),
      bad: new Counter({
        name: 'sms_bad_deliver_total',
        help: 'deliver_sm from carriers dead-lettered, by reason',
        labelNames: ['carrier', 'reason'],
        registers: reg,
      }),
      limited: new Counter({
        name: 'sms_recipient_limited_total',
        help: 'Jobs held back by the per-number anti-bombing limits (status rejected, code RATE_LIMITED), by the window that was full',
        labelNames: ['carrier', 'window'],
        registers: reg,
      }),
      // Jobs cut off (a crash of this or another instance) between their claim and their recorded outcome.
      uncertain: new Counter({
        name: 'sms_uncertain_jobs_total',
        help: 'Jobs claimed before a crash with no recorded outcome, by how they were resolved (receipt, resubmitted, failed)',
        labelNames: ['outcome'],
        registers: reg,
      }),
      exempt: new Counter({
        name: 'sms_recipient_limit_exempt_total',
        help: 'Jobs exempt from the per-number limits, by rule',
        labelNames: ['reason'],
        registers: reg,
      }),
      unmatched: new Counter({
        name: 'sms_receipts_unmatched_total',
        help: 'Delivery receipts that matched no job (by carrier, SMSC and message id) and were dead-lettered, by reason',
        labelNames: ['carrier', 'reason'],
        registers: reg,
      }),
    };
    for (const c of o.connectors.values()) {
      c.onReceipt((r) => this.onReceipt(r));
      c.onReply((r) => this.onReply(r));
      c.onBadDeliver((b) => this.deadLetterDeliver(b.carrier, b.reason, b.fields ?? {}));
    }
  }

  /** The durable consumer of one carrier's jobs (`messaging-cmcc` …), shared by all instances. */
  private consumerOf(c: SmsCarrier): string {
    return `${this.names.consumer}-${c}`;
  }

  async start(): Promise<void> {
    const jsm = await jetstreamManager(this.o.nc);
    // One durable per carrier, so that an instance takes only the carriers it holds binds of. The
    // single durable of earlier versions (`messaging`) hands over at its ack floor: a new carrier
    // consumer starts there instead of at the stream's start (7 days of jobs).
    let legacyFloor: number | undefined;
    try {
      legacyFloor = (await jsm.consumers.info(this.names.jobsStream, this.names.consumer)).ack_floor.stream_seq;
    } catch (err) {
      if (!(err instanceof JetStreamApiError)) throw err;
    }
    for (const c of this.o.connectors.keys()) {
      await ensureConsumer(jsm, this.names.jobsStream, {
        durable_name: this.consumerOf(c),
        filter_subject: this.names.jobSubject(c),
        ack_wait: ms(this.o.ackWaitMs ?? 60_000),
        max_deliver: -1,
        max_ack_pending: this.o.maxInFlight ?? 5000,
        ...(legacyFloor === undefined ? {} : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: legacyFloor + 1 }),
      });
    }
    // Not the legacy durable: what it had unacked, the carrier consumers (starting at its floor) hand out.
    const consumers = [...this.o.connectors.keys()].map((c) => this.consumerOf(c));
    // Rebuilt before the first job is taken (see ClaimLog for why this keeps at most once).
    this.claims = await ClaimLog.open(this.o.nc, {
      stream: this.names.claimsStream,
      subject: this.names.claimsSubject,
      replicas: this.o.replicas ?? 1,
      log: this.o.log,
      since: () => jobsRedeliverableSince(this.o.nc, this.names.jobsStream, consumers),
    });
    this.receiptSub = this.o.nc.subscribe(this.names.receiptsSubject, {
      callback: (err, msg) => void (err ? undefined : this.peerReceipts(msg)),
    });
    if (!this.o.leasedCarriers) for (const c of this.o.connectors.keys()) await this.resume(c);
    // A job waiting for its carrier's throughput must not be redelivered meanwhile.
    this.heartbeat = setInterval(
      () => {
        for (const m of this.inHand) m.working();
      },
      Math.max(1000, (this.o.ackWaitMs ?? 60_000) / 3),
    );
    this.heartbeat.unref();
  }

  /** Takes the carrier's jobs (this instance holds a bind slot of it). Idempotent. */
  async resume(c: SmsCarrier): Promise<void> {
    if (this.loops.has(c) || this.stopping) return;
    let stop: () => Promise<void> = async () => undefined;
    this.loops.set(c, () => stop());
    const consumer = await this.js.consumers.get(this.names.jobsStream, this.consumerOf(c));
    const messages = await consumer.consume({ max_messages: Math.min(1000, this.o.maxInFlight ?? 5000) });
    const done = (async () => {
      for await (const m of messages) void this.handle(m);
    })();
    stop = async () => {
      await messages.close();
      await done;
    };
    this.o.log.info({ carrier: c }, "taking the carrier's jobs");
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
    this.o.log.info({ carrier: c }, "no longer taking the carrier's jobs");
  }

  /** Carriers whose jobs are taken now. */
  activeCarriers(): SmsCarrier[] {
    return [...this.loops.keys()];
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    clearInterval(this.heartbeat);
    this.receiptSub?.unsubscribe();
    await Promise.all([...this.loops.values()].map((stop) => stop()));
    this.loops.clear();
    await this.writer.close();
    await this.claims?.close();
    for (const f of this.natsOut.splice(0)) f();
  }

  /** Whether send-log rows reach ClickHouse now, for /healthz. */
  sendLogHealth(): { ok: boolean; detail: string; queued: number } {
    return this.writer.health();
  }

  /** Jobs accepted by a carrier and still waiting for their receipts. */
  get awaitingReceipts(): number {
    return this.byMessageId.size;
  }

  // ---- jobs ----------------------------------------------------------------------------------

  private async handle(m: JsMsg): Promise<void> {
    // Pulled before this instance stopped taking the carrier's jobs: another instance sends it.
    const carrier = m.subject.slice(m.subject.lastIndexOf('.') + 1) as SmsCarrier;
    if (this.o.leasedCarriers && !this.loops.has(carrier)) {
      m.nak(200);
      return;
    }
    this.inHand.add(m);
    try {
      const jobs = await this.decode(m);
      if (!jobs) return;
      if (jobs.batch) await this.handleBatch(m, jobs.jobs);
      else await this.handleJob(m, jobs.jobs[0]);
    } catch (err) {
      this.o.log.error({ err, seq: m.seq }, 'job failed; it will come back');
      m.nak(2000);
    } finally {
      this.inHand.delete(m);
    }
  }

  /** The jobs of a message (one SmsJob or one SmsJobBatch), or undefined when it was dead-lettered. */
  private async decode(m: JsMsg): Promise<{ batch: boolean; jobs: SmsJob[] } | undefined> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(m.data));
    } catch (err) {
      await deadLetterMsg(deadLetterWriter(this.o.nc, 'messaging'), m, `not valid JSON: ${(err as Error).message}`);
      return undefined;
    }
    if (isSmsJobBatch(parsed)) {
      // Batches come from alerting, built by code: one that fails the contract is dead-lettered whole.
      const b = SmsJobBatch.safeParse(parsed);
      if (!b.success) {
        await deadLetterMsg(
          deadLetterWriter(this.o.nc, 'messaging'),
          m,
          `does not match the SMS job batch contract: ${describeIssues(b.error)}`,
        );
        return undefined;
      }
      const j = jobsOfBatch(b.data);
      if (j.ok) return { batch: true, jobs: j.jobs };
      await deadLetterMsg(
        deadLetterWriter(this.o.nc, 'messaging'),
        m,
        `does not match the SMS job batch contract: jobs.${j.index}: ${describeIssues(j.error)}`,
      );
      return undefined;
    }
    const r = SmsJob.safeParse(parsed);
    if (r.success) return { batch: false, jobs: [r.data] };
    await deadLetterMsg(deadLetterWriter(this.o.nc, 'messaging'), m, `does not match the SMS job contract: ${describeIssues(r.error)}`);
    return undefined;
  }

  /**
   * Each job of a batch is handled as if it were its own message; the batch is acked when every
   * job is done. A job that would be handed back (nak) is retried here after the delay instead, so
   * its siblings already sent are not redelivered; a crash redelivers the whole batch, and the jobs
   * already claimed are found in the claim log and the send log, as a redelivered single job is.
   */
  private handleBatch(m: JsMsg, jobs: SmsJob[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let left = jobs.length;
      let handBack = false;
      const settle = () => {
        if (--left > 0) return;
        if (handBack) m.nak(500);
        else m.ack();
        resolve();
      };
      const run = (job: SmsJob) => {
        let settled = false;
        const part: JobMsg = {
          seq: m.seq,
          ack: () => {
            if (settled) return;
            settled = true;
            settle();
          },
          handBack: () => {
            if (settled) return;
            settled = true;
            handBack = true;
            settle();
          },
          nak: (delay?: number) => {
            if (settled || this.stopping) return;
            settled = true;
            const t = setTimeout(() => {
              this.retryTimers.delete(t);
              if (!this.stopping) run(job);
            }, delay ?? 2000);
            this.retryTimers.add(t);
          },
        };
        this.handleJob(part, job).catch((err: unknown) => {
          this.o.log.error({ err, seq: m.seq, jobId: job.jobId }, 'job of a batch failed; it will be tried again');
          part.nak(2000);
        });
      };
      for (const job of jobs) run(job);
    });
  }

  private async handleJob(m: JobMsg, job: SmsJob): Promise<void> {
    this.counts.jobs++;
    const p = this.prep.prepare(job);
    if (!p.ok) {
      // Nothing went to a carrier, so writing this twice is harmless (same version).
      this.counts.rejected++;
      this.metrics.jobs.inc({ carrier: p.carrier, outcome: 'rejected' });
      await this.record(
        { job, carrier: p.carrier, smscId: '', segments: p.segments, submitMs: 0, messageIds: [] },
        'rejected',
        p.code,
        job.createdAt,
        p.reason,
      );
      this.ack(m);
      return;
    }
    const segments = p.encoded.parts.length;
    if (this.claims.has(job.jobId)) {
      await this.alreadyClaimed(m, job, p, segments);
      return;
    }
    if (this.o.leasedCarriers && p.carrier !== job.carrier && (this.o.connectors.get(p.carrier)?.status().held ?? 0) === 0) {
      await this.forward(m, job, p.carrier);
      return;
    }
    if (this.o.limiter?.active && (await this.heldBack(job, p, segments))) {
      this.ack(m);
      return;
    }
    await this.submit(m, job, p, () => this.claims.claim(job.jobId));
  }

  /**
   * A job queued under one carrier whose number routes to another (a producer that took the carrier
   * from elsewhere, a ported number) and this instance holds no bind of that other carrier: it is
   * queued again under the carrier it goes to, for an instance that holds one. Handing it back
   * instead would bring it only to instances taking the first carrier, which may hold none either.
   * Nothing was claimed, so nothing can be sent twice; the copy's Msg-Id names the carrier.
   */
  private async forward(m: JobMsg, job: SmsJob, carrier: SmsCarrier): Promise<void> {
    await this.js.publish(this.names.jobSubject(carrier), JSON.stringify({ ...job, carrier } satisfies SmsJob), {
      msgID: `${job.jobId}:${carrier}`,
    });
    this.counts.forwarded++;
    this.o.log.info({ jobId: job.jobId, from: job.carrier, to: carrier }, 'job queued again under the carrier its number routes to');
    this.ack(m);
  }

  /**
   * Whether the per-number limits hold the job back (anti-bombing); if so its send-log row says
   * rejected, code RATE_LIMITED, and its status event the reason (频率限制：…). Jobs exempt by rule
   * (alerts, forwarded replies) are counted, never held.
   */
  private async heldBack(job: SmsJob, p: Ready, segments: number): Promise<boolean> {
    const limiter = this.o.limiter!;
    const exempt = exemptionOf(job, limiter.limits);
    if (exempt) {
      this.metrics.exempt.inc({ reason: exempt });
      return false;
    }
    const d = await limiter.admit(job, p.msisdn);
    if (d.ok) return false;
    // A job held before and come again (redelivery, a producer's copy) is recorded again but
    // counted once: the counter counts jobs held back, not attempts.
    if (d.again) this.counts.limitedAgain++;
    else {
      this.counts.limited++;
      this.metrics.limited.inc({ carrier: p.carrier, window: d.window });
    }
    await this.record(
      { job, carrier: p.carrier, smscId: '', segments, submitMs: 0, messageIds: [] },
      'rejected',
      'RATE_LIMITED',
      Date.now(),
      d.reason,
    );
    return true;
  }

  /** Submits a prepared job and records its outcome; `claim` runs just before the wire. */
  private async submit(m: JobMsg, job: SmsJob, p: Ready, claim: () => Promise<boolean>): Promise<void> {
    const connector = this.o.connectors.get(p.carrier);
    if (!connector) throw new Error(`no connector for ${p.carrier}`);
    const segments = p.encoded.parts.length;
    if (job.extension) await this.ensureExtension(job);
    const outcome = await connector.submit({
      ref: job.jobId,
      msisdn: p.msisdn,
      source: this.o.accessNumbers[p.carrier] + (job.extension ?? ''),
      encoded: p.encoded,
      beforeSend: claim,
    });
    if (!outcome.ok && outcome.cancelled) {
      await this.alreadyClaimed(m, job, p, segments);
      return;
    }
    if (!outcome.ok && outcome.handedBack) {
      // No bind of the carrier is held here any more: the job goes to an instance that holds one
      // (claimed: it finds the claim and resolves the job as uncertain, by the receipts).
      this.counts.handedBack++;
      this.o.log.debug(
        { jobId: job.jobId, carrier: p.carrier, claimed: outcome.claimed, written: outcome.written },
        'job handed back: no bind of its carrier held here',
      );
      // Claimed but never written: the claim is withdrawn, so the next instance sends it at once
      // (else it would wait for a receipt that cannot come, then resubmit).
      if (outcome.claimed && !outcome.written) {
        await this.claims
          .withdraw([job.jobId])
          .catch((err: unknown) =>
            this.o.log.warn({ err, jobId: job.jobId }, 'claim not withdrawn; the job will be resolved as uncertain'),
          );
      }
      if (m.handBack) m.handBack();
      else m.nak(500);
      return;
    }
    // The claim could not be stored (NATS down or restarting): nothing went out, so the job is
    // not failed but handed back (handle() naks it) and sent when it comes again.
    if (!outcome.ok && outcome.code === 'CLAIM_FAILED') throw new Error(`claim not stored for ${job.jobId}; job handed back`);
    const now = Date.now();
    const base = { job, carrier: p.carrier, smscId: connector.smscId, segments, submitMs: now, messageIds: outcome.messageIds };
    if (outcome.ok) {
      this.counts.submitted++;
      this.metrics.jobs.inc({ carrier: p.carrier, outcome: 'submitted' });
      const t: Tracked = { ...base, receipts: 0, worst: 'delivered' };
      for (const id of outcome.messageIds) this.byMessageId.set(receiptKey(p.carrier, connector.smscId, id), t);
      await this.record(base, 'submitted', '', now);
    } else {
      this.counts.failed++;
      this.metrics.jobs.inc({ carrier: p.carrier, outcome: 'failed' });
      await this.record(base, 'failed', outcome.code, now);
    }
    this.ack(m);
  }

  /**
   * A redelivered job that was claimed before: done when the log has it; otherwise it was on the
   * wire when the sender died, and only a receipt can tell whether the carrier took it.
   */
  private async alreadyClaimed(m: JobMsg, job: SmsJob, p: Ready, segments: number): Promise<void> {
    const carrier = p.carrier;
    this.counts.duplicates++;
    if (await this.logged(job.jobId)) {
      // Resolved meanwhile (maybe by another instance): no receipt to that number is its any more.
      this.forgetUncertain(job.jobId);
      this.ack(m);
      return;
    }
    const claimedAt = this.claims.claimedAt(job.jobId) ?? Date.now();
    const resolveMs = this.o.uncertainResolveMs ?? 600_000;
    // Old enough, and this process has itself been taking receipts for half that time: after a
    // slow restart the receipts the carrier still owes come now, not before we were back.
    const since = this.uncertain.get(job.jobId)?.since ?? Date.now();
    if (Date.now() - claimedAt > resolveMs && Date.now() - since > resolveMs / 2) {
      this.forgetUncertain(job.jobId);
      this.counts.uncertain++;
      if ((this.o.uncertainPolicy ?? 'resubmit') === 'resubmit') {
        // No receipt echoed it (the carrier sends one for every message it took, registered_delivery
        // = 1): taken as never received, and sent again under a fresh claim.
        this.counts.resubmitted++;
        this.metrics.uncertain.inc({ outcome: 'resubmitted' });
        this.o.log.warn({ jobId: job.jobId, claimedAt }, 'job cut off by a restart with no receipt: sent again');
        await this.submit(m, job, p, () => this.claims.reclaim(job.jobId));
        return;
      }
      this.o.log.warn({ jobId: job.jobId, claimedAt }, 'job cut off by a restart with no receipt: recorded UNCERTAIN, not sent again');
      this.metrics.uncertain.inc({ outcome: 'failed' });
      await this.record(
        { job, carrier, smscId: this.smscOf(carrier), segments, submitMs: claimedAt, messageIds: [] },
        'failed',
        'UNCERTAIN',
        Date.now(),
        '发送时服务中断，且运营商未回执，无法确认是否已发送',
      );
      this.ack(m);
      return;
    }
    if (!this.uncertain.has(job.jobId)) {
      const k = `${carrier}|${p.msisdn}`;
      this.uncertainByNumber.set(k, [...(this.uncertainByNumber.get(k) ?? []), job.jobId]);
    }
    this.uncertain.set(job.jobId, { job, carrier, msisdn: p.msisdn, segments, since });
    m.nak(this.o.uncertainRetryMs ?? 2000);
  }

  private forgetUncertain(jobId: string): void {
    const u = this.uncertain.get(jobId);
    if (!u) return;
    this.uncertain.delete(jobId);
    const k = `${u.carrier}|${u.msisdn}`;
    const rest = (this.uncertainByNumber.get(k) ?? []).filter((id) => id !== jobId);
    if (rest.length) this.uncertainByNumber.set(k, rest);
    else this.uncertainByNumber.delete(k);
  }

  /**
   * The uncertain job a receipt that matched no logged message id belongs to: the one its echoed
   * ref names (same carrier), else without a ref the oldest uncertain job of the same carrier to
   * the number the receipt names — the carrier took it after all, so it must not be sent again.
   */
  private uncertainFor(r: CarrierReceipt): Uncertain | undefined {
    if (r.ref) {
      const u = this.uncertain.get(r.ref);
      return u && u.carrier === r.carrier ? u : undefined;
    }
    const id = this.uncertainByNumber.get(`${r.carrier}|${r.msisdn}`)?.[0];
    return id ? this.uncertain.get(id) : undefined;
  }

  private smscOf(carrier: SmsCarrier): string {
    return this.o.connectors.get(carrier)?.smscId ?? carrier;
  }

  private loggedQueue: { jobId: string; resolve: (found: boolean) => void; reject: (e: unknown) => void }[] = [];
  private loggedTimer?: NodeJS.Timeout;

  /** Whether the send log has a row for the job; lookups are batched (after a restart there are many). */
  private logged(jobId: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.loggedQueue.push({ jobId, resolve, reject });
      if (!this.loggedTimer) {
        this.loggedTimer = setTimeout(() => {
          this.loggedTimer = undefined;
          const batch = this.loggedQueue.splice(0);
          selectRows<{ job_id: string }>(
            this.o.ch,
            sql`SELECT DISTINCT job_id FROM ${ident(this.table)} WHERE created_at >= now() - 8 * 86400 AND job_id IN ${list(batch.map((b) => b.jobId))}`
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

  private async ensureExtension(job: SmsJob): Promise<void> {
    const k = `${job.enterpriseId}|${job.sendId}|${job.extension}`;
    if (this.registered.has(k)) return;
    const ok = await this.o.extensions.register({
      extension: job.extension!,
      enterpriseId: job.enterpriseId,
      accountId: job.accountId,
      sendId: job.sendId,
      forwardTo: job.forwardTo,
      signature: job.signature,
      expiresAt: Date.now() + 7 * 24 * 3600_000,
    });
    if (!ok)
      this.o.log.warn({ extension: job.extension, sendId: job.sendId }, 'extension held by another live send; replies may go astray');
    this.registered.add(k);
  }

  // ---- NATS writes -----------------------------------------------------------------------------

  private natsOut: (() => void)[] = [];

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

  private ack(m: JobMsg): void {
    this.toNats(() => m.ack());
  }

  // ---- log and statuses ------------------------------------------------------------------------

  private async record(s: RowState, status: DeliveryState | 'unknown', code: string, atMs: number, reason?: string): Promise<void> {
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
    const h = headers();
    h.set('Nats-Msg-Id', `${s.job.jobId}:${status}`);
    const subject = this.names.statusSubject(s.carrier);
    const data = JSON.stringify(ev);
    this.toNats(() => {
      try {
        this.o.nc.publish(subject, data, { headers: h });
      } catch (err) {
        this.o.log.warn({ err, jobId: s.job.jobId }, 'status event not published (the send log has it)');
      }
    });
  }

  // ---- receipts --------------------------------------------------------------------------------

  private async onReceipt(r: CarrierReceipt): Promise<boolean> {
    this.counts.receipts++;
    this.metrics.receipts.inc({ carrier: r.carrier, state: r.state });
    const key = receiptKey(r.carrier, r.smscId, r.messageId);
    const t = this.byMessageId.get(key);
    if (t) {
      this.byMessageId.delete(key);
      t.receipts++;
      if ((WORSE[r.state] ?? 4) > (WORSE[t.worst] ?? 0)) t.worst = r.state;
      if (t.receipts >= t.messageIds.length) {
        this.counts.final++;
        await this.record(t, t.worst, t.worst === 'delivered' ? '' : `${r.stat}${r.err ? `:${r.err}` : ''}`, r.at);
      }
      return true;
    }
    // Not known here: a receipt that overtook its submit's bookkeeping, or one for a job sent
    // before a restart. Look it up in a moment, in a batch.
    return new Promise<boolean>((resolve) => {
      this.unmatched.push({ r, resolve });
      if (!this.unmatchedTimer) this.unmatchedTimer = setTimeout(() => void this.matchLater(), 200);
    });
  }

  private async matchLater(): Promise<void> {
    this.unmatchedTimer = undefined;
    const batch = this.unmatched.splice(0);
    const rest: typeof batch = [];
    for (const u of batch) {
      if (this.byMessageId.has(receiptKey(u.r.carrier, u.r.smscId, u.r.messageId)))
        this.onReceipt(u.r).then(u.resolve, () => u.resolve(false));
      else rest.push(u);
    }
    if (rest.length === 0) return;
    // Another instance may be waiting for these (an SMSC gives receipts to any bind of the
    // account): it takes them from memory at once, before its send-log row may even be written.
    const taken = await this.askPeers(rest.map((u) => u.r));
    for (let i = 0; i < rest.length; i++) if (taken[i]) rest[i]!.resolve(true);
    rest.splice(0, rest.length, ...rest.filter((_, i) => !taken[i]));
    if (rest.length === 0) return;
    try {
      const ids = rest.map((u) => u.r.messageId);
      const carriers = [...new Set(rest.map((u) => u.r.carrier))];
      const refs = rest.map((u) => u.r.ref).filter((x): x is string => !!x);
      const rows = await selectRows<SendLogRow>(
        this.o.ch,
        sql`SELECT ${raw(ROW_COLUMNS)} FROM ${ident(this.table)} FINAL WHERE created_at >= now() - 8 * 86400
          AND ((carrier IN ${list(carriers)} AND hasAny(message_ids, ${ids})) OR job_id IN ${list(refs)})`.text,
      );
      // Keyed by carrier and SMSC too: another carrier's job with the same message id is no match.
      const byKey = new Map<string, SendLogRow>();
      for (const row of rows) {
        for (const id of row.message_ids) byKey.set(receiptKey(row.carrier, row.smsc, id), row);
        byKey.set(`ref:${row.carrier}|${row.job_id}`, row);
      }
      const writes: Promise<void>[] = [];
      /** Receipts no logged job and no uncertain job here has. */
      const orphans: typeof rest = [];
      for (const u of rest) {
        const r = u.r;
        const row =
          byKey.get(receiptKey(r.carrier, r.smscId, r.messageId)) ??
          // Rows written before the SMSC was kept: the carrier alone.
          byKey.get(receiptKey(r.carrier, '', r.messageId)) ??
          (r.ref ? byKey.get(`ref:${r.carrier}|${r.ref}`) : undefined);
        if (row && row.status !== 'submitted' && row.status !== 'unknown' && Number(row.version) >= rowVersion(r.state, 0)) {
          u.resolve(true); // already final
          continue;
        }
        const unc = row ? undefined : this.uncertainFor(r);
        if (!row && !unc && this.laterPartOfResolved(r)) {
          u.resolve(true);
          continue;
        }
        const job = row ? jobOfRow(row) : unc?.job;
        if (!job) {
          orphans.push(u);
          continue;
        }
        this.unknownSince.delete(receiptKey(r.carrier, r.smscId, r.messageId));
        const state: RowState = row
          ? {
              job,
              carrier: row.carrier as SmsCarrier,
              smscId: row.smsc || r.smscId,
              segments: row.segments,
              submitMs: row.submit_time * 1000,
              messageIds: row.message_ids,
            }
          : { job, carrier: unc!.carrier, smscId: r.smscId, segments: unc!.segments, submitMs: r.at, messageIds: [r.messageId] };
        if (unc && !r.ref && unc.segments > 1) {
          this.resolvedByNumber.set(`${r.carrier}|${r.msisdn}`, {
            jobId: job.jobId,
            left: unc.segments - 1,
            until: Date.now() + (this.o.unknownReceiptMs ?? 600_000),
          });
        }
        if (unc) this.metrics.uncertain.inc({ outcome: 'receipt' });
        this.forgetUncertain(job.jobId);
        this.counts.final++;
        const code = r.state === 'delivered' ? '' : `${r.stat}${r.err ? `:${r.err}` : ''}`;
        writes.push(
          this.record(state, r.state, code, r.at).then(
            () => u.resolve(true),
            () => u.resolve(false),
          ),
        );
      }
      if (orphans.length > 0) {
        // Perhaps another instance holds their jobs as uncertain (it was handed them after a crash).
        const taken = await this.askPeers(
          orphans.map((u) => u.r),
          'uncertain',
        );
        for (let i = 0; i < orphans.length; i++) {
          const u = orphans[i]!;
          if (taken[i]) u.resolve(true);
          // The carrier will send it again; by then its job may be known. Or it never will be.
          else writes.push(this.unknownReceipt(u.r).then(u.resolve, () => u.resolve(false)));
        }
      }
      await Promise.all(writes);
    } catch (err) {
      this.o.log.error({ err }, 'matching receipts failed; the carrier will send them again');
      for (const u of rest) u.resolve(false);
    }
  }

  /**
   * Offers receipts that match nothing here to the other instances (one request, every peer
   * answers with the indexes it recorded); which were taken. None taken when there are no peers or
   * they do not answer within half a second: the send log is asked next.
   */
  private async askPeers(rs: CarrierReceipt[], mode: PeerReceipts['mode'] = 'memory'): Promise<boolean[]> {
    const taken = rs.map(() => false);
    const peers = this.o.peers?.() ?? 0;
    if (peers === 0 || this.stopping) return taken;
    try {
      const answers = await this.o.nc.requestMany(
        this.names.receiptsSubject,
        JSON.stringify({ from: this.o.instance, mode, receipts: rs } satisfies PeerReceipts),
        {
          strategy: 'count',
          maxMessages: peers,
          maxWait: 500,
        },
      );
      for await (const a of answers) {
        if (a.data.length === 0) continue;
        for (const i of a.json<{ taken: number[] }>().taken ?? []) if (i >= 0 && i < taken.length) taken[i] = true;
      }
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message }, 'peers not asked about receipts; the send log decides');
    }
    return taken;
  }

  /** An uncertain job the carrier took after all (its receipt came by number or echoed ref): final now. */
  private async resolveUncertain(r: CarrierReceipt, unc: Uncertain): Promise<void> {
    const job = unc.job;
    this.unknownSince.delete(receiptKey(r.carrier, r.smscId, r.messageId));
    if (!r.ref && unc.segments > 1) {
      this.resolvedByNumber.set(`${r.carrier}|${r.msisdn}`, {
        jobId: job.jobId,
        left: unc.segments - 1,
        until: Date.now() + (this.o.unknownReceiptMs ?? 600_000),
      });
    }
    this.metrics.uncertain.inc({ outcome: 'receipt' });
    this.forgetUncertain(job.jobId);
    this.counts.final++;
    const code = r.state === 'delivered' ? '' : `${r.stat}${r.err ? `:${r.err}` : ''}`;
    await this.record(
      { job, carrier: unc.carrier, smscId: r.smscId, segments: unc.segments, submitMs: r.at, messageIds: [r.messageId] },
      r.state,
      code,
      r.at,
    );
  }

  /**
   * Receipts offered by another instance: `memory`, those we wait for (sent from here, in memory);
   * `uncertain`, those (no logged job has their id) that resolve a job we hold as uncertain.
   */
  private async peerReceipts(msg: Msg): Promise<void> {
    let body: PeerReceipts;
    try {
      body = msg.json<PeerReceipts>();
    } catch {
      return;
    }
    if (body.from === this.o.instance || !Array.isArray(body.receipts)) return; // our own offer
    const taken: number[] = [];
    await Promise.all(
      body.receipts.map(async (r, i) => {
        if (body.mode === 'uncertain') {
          // Offered only once the send log had no job with its message id (see matchLater).
          const unc = this.uncertainFor(r);
          if (unc) {
            if (
              await this.resolveUncertain(r, unc).then(
                () => true,
                () => false,
              )
            )
              taken.push(i);
          } else if (this.laterPartOfResolved(r)) taken.push(i);
          return;
        }
        if (!this.byMessageId.has(receiptKey(r.carrier, r.smscId, r.messageId))) return;
        if (await this.onReceipt(r).catch(() => false)) taken.push(i);
      }),
    );
    this.counts.peerReceipts += taken.length;
    msg.respond(JSON.stringify({ taken }));
  }

  /**
   * A receipt for a later part of a multi-part job that an earlier part's receipt resolved by
   * number (the parts' message ids were lost with the crash): taken, the job is final already.
   */
  private laterPartOfResolved(r: CarrierReceipt): boolean {
    const k = `${r.carrier}|${r.msisdn}`;
    const done = this.resolvedByNumber.get(k);
    if (!done) return false;
    if (done.until < Date.now()) {
      this.resolvedByNumber.delete(k);
      return false;
    }
    if (--done.left <= 0) this.resolvedByNumber.delete(k);
    return true;
  }

  // ---- malformed deliver_sm -----------------------------------------------------------------------

  /** Dead-letters what a carrier delivered that cannot be used, with the reason; throws if not stored. */
  private async deadLetterDeliver(carrier: SmsCarrier, reason: string, fields: Record<string, unknown>): Promise<void> {
    const write = deadLetterWriter(this.o.nc, 'messaging');
    await write(
      reason,
      { stream: `smpp-${carrier}`, subject: `smpp.${carrier}.deliver_sm` },
      new TextEncoder().encode(JSON.stringify(fields)),
    );
    this.counts.badDelivers++;
    // The metric label is the reason without its variable part (in brackets or quotes).
    this.metrics.bad.inc({ carrier, reason: reason.split(/[("]/)[0]!.trim() });
    this.o.log.warn({ carrier, reason }, 'deliver_sm dead-lettered');
  }

  /** When each unmatched receipt's message id was first seen (bounded). */
  private readonly unknownSince = new Map<string, number>();

  /**
   * An unmatched receipt that may still find its job is refused (false); one unmatched for longer
   * than `unknownReceiptMs` is dead-lettered and accepted (true), so the carrier stops sending it.
   */
  private async unknownReceipt(r: CarrierReceipt): Promise<boolean> {
    if (r.ref && this.claims.has(r.ref)) return false; // its job comes back (redelivery) and claims it
    const now = Date.now();
    const key = receiptKey(r.carrier, r.smscId, r.messageId);
    const first = this.unknownSince.get(key);
    if (first === undefined) {
      this.unknownSince.set(key, now);
      if (this.unknownSince.size > 100_000) this.unknownSince.delete(this.unknownSince.keys().next().value!);
      return false;
    }
    if (now - first < (this.o.unknownReceiptMs ?? 600_000)) return false;
    await this.deadLetterDeliver(
      r.carrier,
      `receipt for an unknown message id (no job of ${r.carrier} SMSC ${r.smscId} has it; unmatched for ${Math.round((now - first) / 1000)} s)`,
      {
        messageId: r.messageId,
        smscId: r.smscId,
        stat: r.stat,
        err: r.err,
        ref: r.ref,
        msisdn: r.msisdn,
      },
    );
    this.metrics.unmatched.inc({ carrier: r.carrier, reason: 'unknown_message_id' satisfies UnmatchedReceiptReason });
    this.unknownSince.delete(key);
    return true;
  }

  // ---- replies ---------------------------------------------------------------------------------

  private async onReply(mo: CarrierReply): Promise<boolean> {
    const access = this.o.accessNumbers[mo.carrier];
    const extension = extensionOf(mo.to, access);
    const ext = extension ? await this.o.extensions.state(extension) : undefined;
    const entry = ext?.state === 'live' ? ext.entry : undefined;
    if (!entry) {
      const reason = replyReason({
        to: mo.to,
        access,
        extension: ext?.state,
        lastSource: extension === '' ? await this.lastSourceTo(mo.carrier, mo.from) : undefined,
      });
      this.counts.unmatchedReplies++;
      this.metrics.replies.inc({ carrier: mo.carrier, reason });
      const fault = reason === 'unknown_extension' || reason === 'other_number';
      this.o.log[fault ? 'warn' : 'debug']({ to: mo.to, from: mo.from, reason }, 'reply matched to no send; not published');
      return true;
    }
    const replyId = mo.ref ?? createHash('sha1').update(`${mo.carrier}|${mo.from}|${mo.to}|${mo.text}`).digest('hex').slice(0, 24);
    let forwardedJobId: string | undefined;
    if (entry.forwardTo) {
      const route = routeNumber(entry.forwardTo);
      if (route.ok) {
        forwardedJobId = `fwd-${replyId}`;
        const fwd: SmsJob = {
          jobId: forwardedJobId,
          source: 'industry',
          enterpriseId: entry.enterpriseId,
          accountId: entry.accountId,
          sendId: entry.sendId,
          msisdn: route.msisdn,
          carrier: route.carrier,
          content: `${mo.from}回复：${mo.text}`.slice(0, 2000),
          signature: (entry.signature ?? '回复转发').slice(0, 20),
          createdAt: Date.now(),
        };
        await this.js.publish(this.names.jobSubject(route.carrier), JSON.stringify(fwd), { msgID: forwardedJobId });
      }
    }
    const reply: SmsReply = {
      replyId,
      enterpriseId: entry.enterpriseId,
      accountId: entry.accountId,
      sendId: entry.sendId,
      from: mo.from,
      to: mo.to,
      text: mo.text,
      carrier: mo.carrier,
      extension: extension!,
      forwardedJobId,
      at: mo.at,
    };
    await this.js.publish(this.names.replySubject(entry.enterpriseId), JSON.stringify(reply), { msgID: `reply:${replyId}` });
    this.counts.replies++;
    this.metrics.replies.inc({ carrier: mo.carrier, reason: 'matched' satisfies ReplyReason });
    return true;
  }

  private sourceQueue: { key: string; resolve: (s: 'alert' | 'industry' | undefined) => void }[] = [];
  private sourceTimer?: NodeJS.Timeout;

  /**
   * The source of the last SMS the send log has to a number from a carrier within 7 days (batched
   * lookups: an alert to a city can bring thousands of replies at once); undefined when none, or
   * when the send log cannot be read (the reply is then counted as no_extension).
   */
  private lastSourceTo(carrier: SmsCarrier, from: string): Promise<'alert' | 'industry' | undefined> {
    const msisdn = normalizeMsisdn(from);
    if (!msisdn) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.sourceQueue.push({ key: `${carrier}|${msisdn}`, resolve });
      if (this.sourceTimer) return;
      this.sourceTimer = setTimeout(() => {
        this.sourceTimer = undefined;
        const batch = this.sourceQueue.splice(0);
        const numbers = [...new Set(batch.map((b) => b.key.split('|')[1]!))];
        selectRows<{ carrier: string; msisdn: string; source: string }>(
          this.o.ch,
          sql`SELECT carrier, msisdn, argMax(source, submit_time) AS source FROM ${ident(this.table)}
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

/** Receipts one instance offers the others (`names.receiptsSubject`). */
interface PeerReceipts {
  from?: string;
  mode?: 'memory' | 'uncertain';
  receipts: CarrierReceipt[];
}

function jobOfRow(row: SendLogRow): SmsJob {
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
