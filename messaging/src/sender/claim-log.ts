import { jetstream, DeliverPolicy, JetStreamApiError } from '@nats-io/jetstream';
import {
  DEFAULT_STALL_MS,
  declareRetrying,
  ensureStream,
  jetstreamManager,
  ms,
  superviseConsume,
  type Logger,
  type NatsConnection,
  type RestartReason,
  type Supervised,
} from '@geo/infra';

/**
 * The claims tail is taken as stalled after at most this long with claims in the stream unread
 * (#19: after a node kill it stalled in 3 of 4 drill runs and was replaced only after ~27 s, its
 * instance meanwhile blind to others' claims). A healthy tail reads a claim within milliseconds, and
 * opening it again costs nothing (an ordered consumer, read on after the last claim seen, no acks).
 */
const TAIL_STALL_MS = 5_000;

/**
 * Write-ahead claims, one JetStream message per batch of jobs about to go on the wire.
 *
 * Why this keeps "at most once to the carrier" across kill -9 and redelivery:
 * 1. A job's first part is written to a carrier only after a claims message naming the job was
 *    stored by JetStream (the publish ack) — the write-ahead rule.
 * 2. A job is acked on SMS_JOBS only after its outcome is in the send log, so the only jobs NATS
 *    can ever hand out again are those above the consumer's ack floor.
 * 3. Such a job was published at or after T, the time of the first message above the ack floor,
 *    and any claim for it was written after it was received, so after T. On start the claimed set
 *    is rebuilt from every claims message since T (minus a margin for clock steps) before the
 *    first job is taken; a redelivered job that was on the wire is found and not sent again.
 * 4. Claims of other instances are learnt by tailing the same stream, within milliseconds; a job
 *    comes to another instance only after AckWait (a minute) without progress.
 * The claim is written just before the wire (a window slot and a throughput token are taken), so
 * a kill leaves as "claimed but maybe not sent" only what the windows held plus parts waiting for a
 * retry (throttled, or cut off with their link), exactly as the per-job KV create did. The sender
 * resolves those after a restart (job-policy.ts, `alreadyClaimed`): a receipt proves the carrier
 * took it — one echoing the job id (vendor TLV 0x1501, only where a connector is set to send it,
 * SMSC_CLIENT_REF_TLV), or, by default, a receipt from the job's carrier and SMSC whose message id no
 * logged job has and whose number is the job's (the oldest uncertain job to that number takes it);
 * none within UNCERTAIN_RESOLVE_MS and, by default
 * (UNCERTAIN_POLICY=resubmit), it is sent again under a new claim (`reclaim`). The one case that can
 * then reach a handset twice: the carrier took the submit_sm, its resp was lost with the process,
 * and the carrier sends no receipt within that time. UNCERTAIN_POLICY=
 * fail trades that duplicate for a loss (recorded failed, code UNCERTAIN). One publish now covers every claim made in the same turn of
 * the event loop (hundreds at high rates) instead of one KV round trip each (~3–4k/s on one
 * nats-server). JetStream stores claims like the KV did (acked before fsync; see DESIGN).
 *
 * A producer that publishes the same job id again with a fresh Msg-Id is caught while the claim
 * is remembered here (the last `remember` ids) or, after a restart, while the first copy is still
 * unacked; durable "once per person" across days is the producer's record (DESIGN, invariant 2).
 */
export class ClaimLog {
  private readonly claimed = new Map<string, number>();
  /**
   * Ids whose claims publish failed here, with when their withdrawal was written: a claim stored
   * after all (the publish timed out at the client) that the tail reads is not taken as a claim.
   */
  private readonly withdrawnHere = new Map<string, number>();
  private batch: string[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private tail?: Supervised;
  readonly counts = { batches: 0, claims: 0, rebuilt: 0 };

  private constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
    private readonly subject: string,
    private readonly o: ClaimLogOptions,
  ) {}

  /**
   * Declares the claims stream, rebuilds the claimed set from the claims that can still matter
   * (see the class comment) and keeps tailing the stream for other instances' claims.
   */
  static async open(nc: NatsConnection, o: ClaimLogOptions): Promise<ClaimLog> {
    const jsm = await jetstreamManager(nc);
    // Tried again while a cluster cannot place it yet (a node restarting, no meta leader).
    await declareRetrying(
      `stream ${o.stream}`,
      () =>
        ensureStream(jsm, {
          name: o.stream,
          subjects: [o.subject],
          num_replicas: o.replicas ?? 1,
          // At least as long as a job can wait in SMS_JOBS (7 days) to be redelivered.
          max_age: ms(8 * 24 * 3600_000),
        }),
      o.log ? { log: o.log } : {},
    );
    const log = new ClaimLog(nc, o.stream, o.subject, o);
    await log.rebuild();
    return log;
  }

  /** Whether the job was claimed (by this or another instance, or before a restart). */
  has(jobId: string): boolean {
    return this.claimed.has(jobId);
  }

  /** When the job was claimed (ms), if it was. */
  claimedAt(jobId: string): number | undefined {
    return this.claimed.get(jobId);
  }

  /** Ids remembered now. */
  get size(): number {
    return this.claimed.size;
  }

  /**
   * Claims a job: false at once when it was claimed before; true once the claim is stored.
   * Claims made in the same turn of the event loop share one publish.
   */
  claim(jobId: string): Promise<boolean> {
    if (this.claimed.has(jobId)) return Promise.resolve(false);
    this.remember(jobId, Date.now());
    this.batch.push(jobId);
    const p = new Promise<boolean>((resolve, reject) => this.waiters.push({ resolve: () => resolve(true), reject }));
    if (this.batch.length >= (this.o.maxBatch ?? 4000)) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return p;
  }

  /**
   * Claims a job again although it was claimed before (a job cut off by a crash and given up
   * on as never received, see `SenderOptions.uncertainPolicy`): true once the new claim is stored.
   */
  reclaim(jobId: string): Promise<boolean> {
    this.claimed.delete(jobId);
    return this.claim(jobId);
  }

  /**
   * Withdraws claims of jobs that certainly never went on the wire and never will from this
   * instance (their connector dropped them before writing a part: no bind of the carrier was held
   * any more), so that the instance the job goes to sends it at once instead of waiting for a
   * receipt that cannot come. Resolves once the withdrawal is stored; rejects if it was not (the
   * claims then stand, and the jobs are resolved as uncertain).
   */
  async withdraw(jobIds: string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await jetstream(this.nc).publish(this.subject, JSON.stringify({ at: Date.now(), ids: [], withdrawn: jobIds } satisfies ClaimBatch));
    for (const id of jobIds) this.claimed.delete(id);
  }

  async close(): Promise<void> {
    this.flush();
    await this.tail?.stop();
  }

  /** Whether the tail of other instances' claims is open now, and how often it was opened again. */
  tailState(): { consuming: boolean; restarts: number } {
    return { consuming: this.tail?.consuming ?? false, restarts: this.tail?.restarts ?? 0 };
  }

  private flush(): void {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    const ids = this.batch;
    const waiters = this.waiters;
    this.batch = [];
    this.waiters = [];
    this.counts.batches++;
    this.counts.claims += ids.length;
    const body = JSON.stringify({ at: Date.now(), ids } satisfies ClaimBatch);
    jetstream(this.nc, this.o.claimTimeoutMs ? { timeout: this.o.claimTimeoutMs } : undefined)
      .publish(this.subject, body)
      .then(
        () => {
          for (const w of waiters) w.resolve();
        },
        (err: unknown) => {
          // Not known to be stored: nothing of this batch goes out (the claimers are told), so the
          // ids are forgotten and may be claimed again. A claim stored after all (the publish timed
          // out at the client, as under heavy load) would make each job "claimed, maybe on the
          // wire" when it comes again (here, after a restart, or at another instance): uncertain,
          // and held for UNCERTAIN_RESOLVE_MS. So it is withdrawn (written before any new claim of
          // the same ids: one connection keeps the order), and the tail here skips it meanwhile.
          const at = Date.now();
          for (const id of ids) {
            this.claimed.delete(id);
            this.withdrawnHere.set(id, at);
          }
          jetstream(this.nc)
            .publish(this.subject, JSON.stringify({ at, ids: [], withdrawn: ids } satisfies ClaimBatch))
            .catch((e: unknown) =>
              this.o.log?.warn({ err: e, ids: ids.length }, 'failed claims not withdrawn; a late-stored one makes its job uncertain'),
            );
          for (const w of waiters) w.reject(err);
        },
      );
  }

  private remember(jobId: string, at: number): void {
    this.claimed.set(jobId, at);
    const max = this.o.remember ?? 1_000_000;
    if (this.claimed.size > max) {
      // Oldest first (Map keeps insertion order).
      let drop = this.claimed.size - max;
      for (const k of this.claimed.keys()) {
        if (drop-- <= 0) break;
        this.claimed.delete(k);
      }
    }
  }

  private async rebuild(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const since = await this.o.since();
    const info = await jsm.streams.info(this.stream);
    const lastSeq = info.state.last_seq;
    const lastTs = info.state.messages > 0 ? Date.parse(info.state.last_ts) : 0;
    const start = since === undefined ? undefined : since - (this.o.marginMs ?? 60_000);
    const nothingToRead = info.state.messages === 0 || (start !== undefined && lastTs < start);
    // Nothing to read: from the next message on (by sequence, so that a tail opened late or again
    // still reads every claim written after this point).
    const deliverFrom = nothingToRead
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastSeq + 1 }
      : start === undefined
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(start).toISOString() };
    let ready!: () => void;
    const rebuilt = new Promise<void>((r) => (ready = r));
    if (nothingToRead) ready();
    // The last claims message read: a tail opened again (its iterator ended, failed or stalled, #19)
    // goes on after it, so that no other instance's claim is missed.
    let seen = nothingToRead ? lastSeq : 0;
    this.tail = superviseConsume({
      what: { consumer: 'claims-tail', stream: this.stream },
      log: this.o.log ?? { error: () => undefined },
      open: async () =>
        (
          await jetstream(this.nc).consumers.get(
            this.stream,
            seen > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: seen + 1 } : deliverFrom,
          )
        ).consume(),
      onRestart: (reason) => this.o.onRestart?.(reason),
      stall: {
        ms: Math.min(this.o.stallMs ?? DEFAULT_STALL_MS, TAIL_STALL_MS),
        progress: async () => {
          const last = (await jsm.streams.info(this.stream)).state.last_seq;
          return { pending: Math.max(0, last - seen), delivered: seen, room: true };
        },
      },
      handle: (m) => {
        if (m.seq <= seen) return; // read again after a restart
        seen = m.seq;
        try {
          const b = JSON.parse(new TextDecoder().decode(m.data)) as ClaimBatch;
          for (const id of b.ids) {
            if (!this.claimed.has(id) && !((this.withdrawnHere.get(id) ?? -Infinity) >= b.at)) {
              this.remember(id, b.at);
              if (m.seq <= lastSeq) this.counts.rebuilt++;
            }
          }
          // Withdrawn after the claim (in stream order): unless claimed again since by us.
          for (const id of b.withdrawn ?? []) {
            if ((this.claimed.get(id) ?? Infinity) <= b.at) this.claimed.delete(id);
            // Our own withdrawal read back: the claim it withdraws came before it (stream order).
            if ((this.withdrawnHere.get(id) ?? Infinity) <= b.at) this.withdrawnHere.delete(id);
          }
        } catch (err) {
          this.o.log?.error({ err, seq: m.seq }, 'unreadable claims message skipped');
        }
        if (m.seq >= lastSeq) ready();
      },
    });
    // Open before anything is claimed here (as before: claims of others written from now on are read).
    await this.tail.opened;
    await rebuilt;
    this.o.log?.info({ rebuilt: this.counts.rebuilt, since: start && new Date(start).toISOString() }, 'claims rebuilt');
  }
}

export interface ClaimLogOptions {
  stream: string;
  subject: string;
  replicas?: number;
  /**
   * The earliest time a job that may still be redelivered was published (ms), or undefined to
   * read every claim kept. See `jobsRedeliverableSince`.
   */
  since: () => Promise<number | undefined>;
  /** Claims read before `since`, for clock steps between servers. @default 60000 */
  marginMs?: number;
  /** Ids remembered in memory, newest kept. @default 1000000 */
  remember?: number;
  /** Claims per publish at most. @default 4000 */
  maxBatch?: number;
  /** The tail delivered nothing this long while claims are pending for it: it is opened again (5 s at most, see TAIL_STALL_MS). @default 5000 */
  stallMs?: number;
  /** Told each time the tail is opened again. */
  onRestart?(reason: RestartReason): void;
  /** How long a claims publish waits for JetStream's ack before the claimers are told it failed. @default the client's (5 s) */
  claimTimeoutMs?: number;
  log?: Logger;
}

interface ClaimBatch {
  at: number;
  ids: string[];
  /** Claims withdrawn: the jobs were never written to a carrier (see `withdraw`). */
  withdrawn?: string[];
}

/**
 * The publish time of the first job above the consumers' ack floors (the lowest, when several
 * consumers share the stream, e.g. one per carrier): every job NATS may still hand out was
 * published at or after it. Undefined (read all claims) when it cannot be told.
 */
export async function jobsRedeliverableSince(nc: NatsConnection, stream: string, consumer: string | string[]): Promise<number | undefined> {
  const jsm = await jetstreamManager(nc);
  let floor = Infinity;
  for (const c of Array.isArray(consumer) ? consumer : [consumer]) {
    const ci = await jsm.consumers.info(stream, c);
    // A filtered consumer with nothing pending nor unacked hands nothing out again, whatever its
    // floor (which does not move past other subjects' messages).
    if (Array.isArray(consumer) && ci.num_pending === 0 && ci.num_ack_pending === 0) continue;
    floor = Math.min(floor, ci.ack_floor.stream_seq);
  }
  const si = await jsm.streams.info(stream);
  if (floor === Infinity) return Date.now(); // nothing unacked: only later jobs can come
  const first = Math.max(floor + 1, si.state.first_seq);
  if (first > si.state.last_seq) return Date.now(); // nothing unacked: only later jobs can come
  for (let seq = first; seq < first + 50 && seq <= si.state.last_seq; seq++) {
    try {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (m) return m.time.getTime();
    } catch (err) {
      if (!(err instanceof JetStreamApiError)) throw err;
      // deleted: try the next one
    }
  }
  return undefined;
}
