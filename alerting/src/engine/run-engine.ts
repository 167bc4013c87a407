import { randomUUID } from 'node:crypto';
import { DeliverPolicy, jetstream, type JsMsg } from '@nats-io/jetstream';
import { KvWatchInclude, Kvm, type KV } from '@nats-io/kv';
import {
  GapFiller,
  LeaseManager,
  deadLetterMsg,
  deadLetterWriter,
  ensureDeadLetterStream,
  ensureKv,
  streamGapSource,
  type Logger,
  type NatsConnection,
} from '@geo/infra';
import {
  LOCATION_STREAM,
  LocationDecodeError,
  declareLocationStream,
  decodeLocationColumns,
  locationFilter,
  shardOf,
  type LocationColumns,
} from '@geo/ingest';
import type { Registry } from 'prom-client';
import { declareMessagingStreams, smsJobSubject } from '@geo/messaging';
import {
  AlertTask,
  REACHED_SUBJECT,
  REACH_SUBJECT,
  ReachRequest,
  ReachedRequest,
  WHY_SUBJECT,
  WhyRequest,
  isTracked,
  type ReachReply,
  type ReachedReply,
  type WhyReply,
  progressSubject,
} from '../contract.ts';
import { inDates } from '../rules/evaluate.ts';
import { regionIssues } from '../geofence/validate-region.ts';
import { shanghaiDate } from '../rules/shanghai-time.ts';
import { Presence } from '../presence/presence.ts';
import type { CityLocator } from '../geofence/city-locator.ts';
import { ingestCityLocator } from '../geofence/ingest-admin-areas.ts';
import { CAPS_BUCKET, LEASES_BUCKET, TASKS_BUCKET, declareAlertingStreams, presenceConsumer } from '../streams.ts';
import { TaskStore } from '../tasks/task-store.ts';
import { KvBudget } from './budget.ts';
import { ClaimLog } from './claims.ts';
import { encodeJobBatch } from './job-encoder.ts';
import { JsPublisher } from './js-publisher.ts';
import { Engine, type Candidate } from './engine.ts';

export interface RunEngineOptions {
  nc: NatsConnection;
  log: Logger;
  shards: number[];
  stalenessMs?: number;
  instance?: string;
  replicas?: number;
  /** Restore presence by replaying LOCATION before consuming (see {@link replayPresence}). @default true */
  replay?: boolean;
  /** Housekeeping and progress period. @default 1000 ms */
  tickMs?: number;
  now?: () => number;
  /** Pre-sized presence (benchmarks). */
  presence?: Presence;
  /**
   * LOCATION messages being handled at once per shard consumer (awaiting their
   * sends). 4 left the engine idle a third of the time waiting for acks; 16 measured 88–113k
   * events/s against 75–82k (bench, load 15–18). @default 16
   */
  inflight?: number;
  /**
   * Messages each shard consumer pulls ahead. Few, so that the replies to alerting's own requests
   * (budget CAS, claims, publish acks) do not queue behind megabytes of LOCATION on the connection
   * (the earlier 256 × 8 shards of 1,000-event JSON messages put ~300 MB ahead of them: requests
   * timed out and batches were redelivered 30 s later, the throughput variance). Binary batches are
   * ~60 B per event, so 16 × 8 shards of 1,000 events is ~8 MB. Counted in messages, not bytes: a
   * byte-bounded pull stalls until it expires when the next message does not fit.
   * @default 16
   */
  pullMessages?: number;
  /** Jobs per SMS_JOBS message. @default JOB_BATCH (100) */
  jobBatch?: number;
  /** Called for each LOCATION message handled, with its events and the people it queued for sending (metrics). */
  onBatch?: (events: number, jobs: number) => void;
  /** The city of a cell (local/roaming rules). @default ingest's geography (Zhejiang), loaded on first use */
  cityOf?: CityLocator;
  /**
   * Shard ownership by leases in the `alert_leases` KV bucket (#19, invariant 10) instead of the
   * static `shards` list: `shards` are then the shards shared out among every instance of the group,
   * each owned by one live instance at a time (LeaseManager from @geo/infra). Off by default (see
   * the README of this option's state in BENCHMARKS/issue 19).
   */
  leases?: { ttlMs?: number; renewMs?: number; bucket?: string };
  /** Where `alerting_gap_messages_total` (LOCATION messages lost in transit and read back) is registered. */
  registry?: Registry;
}

export interface RunningEngine {
  engine: Engine;
  store: TaskStore;
  instance: string;
  /** Resolves once tasks are loaded, presence restored and consumers started. */
  ready: Promise<void>;
  /** Waits for queued task work (activations) to finish. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** The events of a LOCATION message as columns (binary or JSON), or the reason it is malformed. */
function columnsOf(data: Uint8Array): LocationColumns | string {
  try {
    return decodeLocationColumns(data);
  } catch (err) {
    return err instanceof LocationDecodeError ? err.message : `not a LOCATION batch: ${(err as Error).message}`;
  }
}

const shardOfSubject = (subject: string) => Number(subject.slice(subject.lastIndexOf('.') + 1));

/**
 * Restores presence and region membership after a (re)start by replaying LOCATION from
 * `now − (staleness + longest minimum dwell)` up to the stream's end. The stream is already the
 * durable log of every event, so there is no second copy (snapshot) to keep consistent; the replay
 * window is bounded by the staleness limit, and at the measured ~1 M events/s of consume + parse
 * the typical 2 h of a province replays in tens of seconds.
 *
 * Events up to a shard's ack floor (`evaluatedUpTo`) were evaluated before and only rebuild state.
 * Later ones may never have been (they arrived while no instance ran, or the last one died before
 * acking them): they are evaluated as they are replayed, in order, and who qualifies is pushed to
 * `candidates` for the caller to send once tasks are active. Evaluating them only when the durable
 * consumer delivers them again is too late: presence already holds the person's newer events, so
 * someone who walked into the region and out again during the gap was tracked and never sent.
 * Claims restored beforehand keep this once-only.
 */
export async function replayPresence(
  nc: NatsConnection,
  engine: Engine,
  shards: number[],
  sinceMs: number,
  log: Logger,
  evaluatedUpTo: ReadonlyMap<number, number> = new Map(),
  candidates: Candidate[] = [],
): Promise<number> {
  // A busy 2-core box answers JetStream requests slowly; 5 s (the default) fails good work there.
  const js = jetstream(nc, { timeout: 15_000 });
  const jsm = await js.jetstreamManager();
  const info = await jsm.streams.info(LOCATION_STREAM);
  const last = info.state.last_seq;
  if (info.state.messages === 0 || last === 0) return 0;
  const mine = new Set(shards);
  const c = await js.consumers.get(LOCATION_STREAM, {
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(sinceMs).toISOString(),
  });
  let events = 0;
  const msgs = await c.consume({ max_messages: 512 });
  const timer = setTimeout(() => void msgs.close(), 600_000);
  try {
    for await (const m of msgs) {
      if (mine.has(shardOfSubject(m.subject))) {
        // Malformed messages were dead-lettered by the live consumer; nothing to restore from them.
        const cols = columnsOf(m.data);
        if (typeof cols !== 'string') {
          const unevaluated = m.seq > (evaluatedUpTo.get(shardOfSubject(m.subject)) ?? Infinity);
          const found = engine.applyColumns(cols, unevaluated);
          for (let k = 0; k < found.length; k++) candidates.push(found[k]!);
          events += cols.count;
        }
      }
      if (m.seq >= last || m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(timer);
    await msgs.close();
  }
  log.info({ events, upToSeq: last, qualifiedInGap: candidates.length }, 'presence restored from LOCATION');
  return events;
}

/**
 * Per shard, the stream sequence up to which its durable consumer has acked everything (0 when it
 * has acked nothing yet). The consumers are declared before this is asked; a failure to answer
 * fails the start rather than guess (0 would evaluate the whole replay window again).
 */
export async function ackFloors(nc: NatsConnection, shards: number[]): Promise<Map<number, number>> {
  const jsm = await jetstream(nc, { timeout: 15_000 }).jetstreamManager();
  const out = new Map<number, number>();
  for (const shard of shards) out.set(shard, (await jsm.consumers.info(LOCATION_STREAM, presenceConsumer(shard))).ack_floor.stream_seq);
  return out;
}

/**
 * Runs the alerting engine on NATS: watches `alert_tasks`, restores presence, consumes its LOCATION
 * shards, sends, ticks, publishes progress and answers reach estimates.
 */
export async function runEngine(opts: RunEngineOptions): Promise<RunningEngine> {
  const { nc, log } = opts;
  const now = opts.now ?? Date.now;
  const instance = opts.instance ?? `alerting-${randomUUID().slice(0, 8)}`;
  // A busy 2-core box answers JetStream requests slowly; 5 s (the default) fails good work there.
  const js = jetstream(nc, { timeout: 15_000 });
  await ensureDeadLetterStream(nc, opts.replicas);
  await declareLocationStream(nc, { replicas: opts.replicas });
  await declareMessagingStreams(nc, opts.replicas);
  await declareAlertingStreams(nc, { replicas: opts.replicas, shards: opts.shards });
  const kvm = new Kvm(js);
  const [tasksKv, capsKv]: KV[] = await Promise.all([kvm.open(TASKS_BUCKET), kvm.open(CAPS_BUCKET)]);
  const store = new TaskStore(tasksKv, now);
  const budget = new KvBudget(capsKv);
  const pub = new JsPublisher(nc, 15_000);
  const claims = new ClaimLog(await js.jetstreamManager(), pub);
  // Lease mode: shard → epoch (the fencing token) of the leases held now.
  const owned = new Map<number, number>();
  let leases: LeaseManager | undefined;
  const presence = opts.presence ?? new Presence({ stalenessMs: opts.stalenessMs });
  const shardOfIndex = (i: number) => shardOf(presence.msisdnOf(i));
  const holds = (shard: number) => {
    const e = owned.get(shard);
    return e !== undefined && leases?.fence(`s${shard}`) === e;
  };
  const engine = new Engine(
    {
      budget,
      claims,
      publish: (b) => pub.publish(smsJobSubject(b.carrier), encodeJobBatch(b.jobs), { msgID: b.msgId }),
      jobBatch: opts.jobBatch,
      now,
      instance,
      cityOf: opts.cityOf ?? ((lng, lat) => ingestCityLocator()(lng, lat)),
      // Certainly held: won (`owned`, same epoch) and renewed less than the ttl ago by the local clock
      // (LeaseManager.fence), so that a process waking from a pause sees its lapsed leases at once,
      // before its lease timer has had a chance to run.
      owns: opts.leases ? (i) => holds(shardOfIndex(i)) : undefined,
      fence: opts.leases ? () => Object.fromEntries(owned) : undefined,
    },
    presence,
  );
  /** The shards this instance answers for now. */
  const myShards = () => (opts.leases ? [...owned.keys()].sort((a, b) => a - b) : opts.shards);
  const writeDead = deadLetterWriter(nc, 'alerting');
  let stopping = false;
  let booted = false;
  const restored = new Set<string>();

  // One queue for task changes and activations, so they never interleave with each other.
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = (f: () => Promise<unknown>) => (queue = queue.then(f).catch((err) => log.error({ err }, 'task work failed')));

  const activate = async (id: string) => {
    if (!restored.has(id)) {
      restored.add(id);
      const r = await engine.restoreClaims(id);
      if (r.claims) log.info({ task: id, ...r }, 'restored what was already sent');
    }
    const sent = await engine.activate(id);
    log.info({ task: id, sent, members: engine.membersOf(id) }, 'task activated');
  };

  /** Applies one task record: lifecycle moves (CAS, any instance may win), tracking, activation. */
  const onRecord = async (key: string, raw: unknown) => {
    const parsed = AlertTask.safeParse(raw);
    if (!parsed.success) {
      engine.removeTask(key);
      const state = (raw as { state?: string })?.state;
      if (state && !['rejected', 'stopped', 'completed'].includes(state)) {
        const reason = parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ');
        const e = await tasksKv.get(key);
        if (e)
          await tasksKv
            .update(key, JSON.stringify({ ...(raw as object), state: 'rejected', reason, updatedAt: now() }), e.revision)
            .catch(() => undefined);
        log.warn({ task: key, reason }, 'rejected an invalid task');
      }
      return;
    }
    const task = parsed.data;
    const today = shanghaiDate(now());
    if (task.state === 'submitted') return void (await store.transition(task.id, 'scheduled').catch(() => undefined));
    if (task.state === 'scheduled' && today >= task.spec.startDate)
      return void (await store.transition(task.id, 'running').catch(() => undefined));
    if (task.state === 'running' && today > task.spec.endDate)
      return void (await store.transition(task.id, 'completed').catch(() => undefined));
    if (!isTracked(task.state)) return engine.removeTask(task.id);
    const needsActivation = engine.upsertTask(task);
    if (needsActivation && booted) await activate(task.id);
  };

  // Watch first (updates only), then load what exists: nothing written in between is missed.
  const watcher = await tasksKv.watch({ include: KvWatchInclude.UpdatesOnly });
  const pendingUpdates: { key: string; value: unknown }[] = [];
  const watching = (async () => {
    for await (const e of watcher) {
      const value =
        e.operation === 'PUT'
          ? (() => {
              try {
                return e.json();
              } catch {
                return undefined;
              }
            })()
          : undefined;
      if (value === undefined) {
        enqueue(async () => engine.removeTask(e.key));
        continue;
      }
      if (!booted) pendingUpdates.push({ key: e.key, value });
      else enqueue(() => onRecord(e.key, value));
    }
  })();

  const consumers: { close(): Promise<void> }[] = [];
  const shardConsumers = new Map<number, { close(): Promise<void> }>();
  const inflightAll = new Set<Promise<void>>();

  const jsm = await js.jetstreamManager();
  const gapSource = streamGapSource(jsm, LOCATION_STREAM);
  // Connection losses seen. Deliveries are lost in transit only across one: a gap in the delivery
  // sequence without one means another instance consumes the same durable (see consumeShard).
  let cuts = 0;
  // A QueuedIterator (typed as AsyncIterable): stop() ends it and removes its listener.
  const statuses = nc.status() as ReturnType<NatsConnection['status']> & { stop?(): void };
  const watchingStatus = (async () => {
    for await (const s of statuses) if (s.type === 'disconnect' || s.type === 'reconnect') cuts++;
  })();
  const track = (p: Promise<void>, inflight: Set<Promise<void>>) => {
    inflight.add(p);
    inflightAll.add(p);
    void p.finally(() => {
      inflight.delete(p);
      inflightAll.delete(p);
    });
  };

  /**
   * Consumes one shard's durable consumer. Deliveries lost in transit (a connection cut: the server
   * sent them, this process never got them; JetStream then hands out newer messages at once and the
   * lost ones only after ack_wait) are read back from the stream and applied in order before the
   * newer message that revealed them (see GapFiller). Without that, presence applies the newer
   * events first and skips the lost ones as older when they come back: someone who walked
   * A → B (inside) → C whose B was lost is evaluated A → C and never sent nor counted.
   *
   * Filled messages are not acked (they have no delivery here): their own redelivery later is
   * skipped by presence as already applied, and acked. Evaluation is synchronous and a fill
   * completes before the revealing message is handled, so events are applied in stream order
   * whatever sends are still in flight.
   *
   * Only the first gap after a connection loss is filled. Nothing stops two instances from
   * consuming one durable (each instance's shards come from its own config, all of them by
   * default): then each one's deliveries skip the other's all the time, and reading those back
   * would evaluate every message twice and stall each one on stream reads. Such a shard is logged
   * once (and costs one fill per connection loss).
   */
  const consumeShard = async (shard: number) => {
    const c = await js.consumers.get(LOCATION_STREAM, presenceConsumer(shard));
    const inflight = new Set<Promise<void>>();
    const delivered = (await c.info(true)).delivered;
    const gaps = new GapFiller(
      {
        source: gapSource,
        filterSubject: locationFilter('*', shard),
        log,
        registry: opts.registry,
        metricName: 'alerting_gap_messages_total',
        stopping: () => stopping,
        apply: (seq, data) => {
          const r = apply(data, shard, seq);
          if (typeof r === 'string') return r;
          if (r.work === undefined) opts.onBatch?.(r.events, 0);
          else
            track(
              r.work.then(
                () => opts.onBatch?.(r.events, r.jobs),
                (err) => log.error({ err, seq, shard }, 'sending for a message read back from the stream failed'),
              ),
              inflight,
            );
          return undefined;
        },
      },
      { stream: delivered.stream_seq, delivery: delivered.consumer_seq },
    );
    const msgs = await c.consume({ max_messages: opts.pullMessages ?? 16 });
    const closer = { close: async () => void (await msgs.close()) };
    consumers.push(closer);
    shardConsumers.set(shard, closer);
    const limit = opts.inflight ?? 16;
    // Connection losses before the last gap. Not moved on by gapless deliveries: messages received
    // before a cut may still be handed over from the consumer's buffer after it was seen.
    let cutsSeen = cuts;
    let shared = false;
    for await (const m of msgs) {
      const info = m.info;
      const gap = gaps.tracker.next(info.deliveryCount, info.streamSequence, info.deliverySequence);
      if (gap !== undefined) {
        if (cutsSeen !== cuts) {
          cutsSeen = cuts;
          if (!(await gaps.fill(gap)) || stopping) break;
        } else if (!shared) {
          shared = true;
          log.warn(
            { shard, consumer: presenceConsumer(shard), gap },
            "another instance consumes this shard too (its deliveries skip without a connection loss): each instance sees part of its people's events",
          );
        }
      }
      const p = handle(m, shard);
      if (p) {
        track(p, inflight);
        if (inflight.size >= limit) await Promise.race(inflight);
      }
    }
  };

  /**
   * Applies one LOCATION message (stream sequence `seq`): evaluates its events synchronously, in
   * order, then sends who qualifies. Returns the work still running, or why
   * the whole message is malformed.
   */
  const apply = (
    data: Uint8Array,
    shard: number,
    seq: number,
    heartbeat?: () => void,
  ): { events: number; jobs: number; work?: Promise<unknown> } | string => {
    const events = columnsOf(data);
    if (typeof events === 'string') return events;
    const cands = engine.applyColumns(events, true);
    const work: Promise<unknown>[] = [];
    // The candidates are retried until sent, the message kept unacked (and in progress) meanwhile:
    // a restart before they are sent evaluates it again from the ack floor.
    if (cands.length)
      work.push(
        engine.sendPersistently(cands, {
          heartbeat,
          stopping: () => stopping || (opts.leases !== undefined && !owned.has(shard)),
          onError: (err, attempt) =>
            (attempt === 0 ? log.error : log.warn).call(
              log,
              { err, seq, shard, people: cands.length, attempt },
              'sending failed; retrying these people',
            ),
        }),
      );
    return {
      events: events.count,
      jobs: cands.length,
      work: work.length === 0 ? undefined : work.length === 1 ? work[0] : Promise.all(work),
    };
  };

  const handle = (m: JsMsg, shard: number): Promise<void> | undefined => {
    const r = apply(m.data, shard, m.seq, () => m.working());
    if (typeof r === 'string') return deadLetterMsg(writeDead, m, r).catch((err) => log.error({ err }, 'could not dead-letter'));
    if (r.work === undefined) {
      m.ack();
      opts.onBatch?.(r.events, 0);
      return undefined;
    }
    return r.work.then(
      () => {
        m.ack();
        opts.onBatch?.(r.events, r.jobs);
      },
      (err) => {
        log.error({ err, seq: m.seq }, 'sending failed; the batch will be redelivered');
        m.nak(Math.min(30_000, 500 * 2 ** m.info.deliveryCount));
      },
    );
  };

  const progressTimer = setInterval(() => {
    for (const p of engine.progress()) nc.publish(progressSubject(p.taskId), JSON.stringify(p));
  }, opts.tickMs ?? 1000);
  let ticking = false;
  const tickTimer = setInterval(() => {
    if (ticking || !booted || stopping) return;
    ticking = true;
    void (async () => {
      const today = shanghaiDate(now());
      for (const id of engine.taskIds) {
        const t = engine.task(id);
        if (!t) continue;
        if (t.state === 'scheduled' && inDates(t.spec, now())) await store.transition(id, 'running').catch(() => undefined);
        else if (t.state === 'running' && today > t.spec.endDate) await store.transition(id, 'completed').catch(() => undefined);
      }
      await engine.tick();
    })()
      .catch((err) => log.error({ err }, 'tick failed'))
      .finally(() => (ticking = false));
  }, opts.tickMs ?? 1000);

  const reachSub = nc.subscribe(REACH_SUBJECT, {
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        try {
          const req = ReachRequest.parse(msg.json());
          // The region is checked as at task submission: a self-crossing polygon has no inside to count.
          const issues = regionIssues(req.region);
          if (issues.length)
            throw new Error(
              `invalid region: ${issues
                .slice(0, 5)
                .map((i) => `${['region', ...i.path].join('.')}: ${i.message}`)
                .join('; ')}`,
            );
          // Several messages for a big region: the requester gathers them per instance.
          for (const part of await engine.reach(req, myShards())) msg.respond(JSON.stringify(part));
        } catch (e) {
          const error: ReachReply = {
            v: 1,
            instance,
            shards: myShards(),
            present: { cmcc: 0, cucc: 0, ctcc: 0 },
            passing: { cmcc: 0, cucc: 0, ctcc: 0 },
            allowedToday: { cmcc: 0, cucc: 0, ctcc: 0 },
            part: 0,
            parts: 1,
            tookMs: 0,
            error: (e as Error).message,
          };
          msg.respond(JSON.stringify(error));
        }
      })();
    },
  });

  const reachedSub = nc.subscribe(REACHED_SUBJECT, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const req = ReachedRequest.parse(msg.json());
        const cells = engine.reached(req.taskId);
        const reply: ReachedReply = {
          v: 1,
          instance,
          shards: myShards(),
          tracked: cells !== undefined,
          cells: cells ?? {},
          part: 0,
          parts: 1,
        };
        msg.respond(JSON.stringify(reply));
      } catch (e) {
        const reply: ReachedReply = {
          v: 1,
          instance,
          shards: myShards(),
          tracked: false,
          cells: {},
          part: 0,
          parts: 1,
          error: (e as Error).message,
        };
        msg.respond(JSON.stringify(reply));
      }
    },
  });

  const whySub = nc.subscribe(WHY_SUBJECT, {
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        let reply: WhyReply;
        try {
          const req = WhyRequest.parse(msg.json());
          reply = { v: 1, instance, shards: myShards(), ...(await engine.why(req.taskId, req.msisdn)) };
        } catch (e) {
          reply = { v: 1, instance, shards: myShards(), tracked: false, seen: false, reason: 'not_tracked', error: (e as Error).message };
        }
        msg.respond(JSON.stringify(reply));
      })();
    },
  });

  const ready = (async () => {
    for await (const key of await tasksKv.keys()) {
      const e = await tasksKv.get(key);
      if (e?.operation === 'PUT') await onRecord(key, e.json());
    }
    const inGap: Candidate[] = [];
    if (opts.leases) {
      // Lease mode: shards (their replay, gap evaluation and consumer) start as their leases are won.
      for (const id of engine.taskIds)
        if (engine.task(id)!.state === 'running' && !restored.has(id)) {
          restored.add(id);
          const r = await engine.restoreClaims(id);
          if (r.claims) log.info({ task: id, ...r }, 'restored what was already sent');
        }
      booted = true;
      for (const u of pendingUpdates.splice(0)) enqueue(() => onRecord(u.key, u.value));
      await queue;
      if (stopping) return;
      leases = new LeaseManager({
        kv: await ensureKv(nc, opts.leases.bucket ?? LEASES_BUCKET, { replicas: opts.replicas }),
        group: 'alerting',
        shards: opts.shards.map((s) => `s${s}`),
        instance,
        ttlMs: opts.leases.ttlMs,
        renewMs: opts.leases.renewMs,
        onAcquired: (name, epoch) => acquire(Number(name.slice(1)), epoch),
        onLost: (name, epoch, reason) => lose(Number(name.slice(1)), epoch, reason),
        log: (msg, fields) => log.info({ instance, ...fields }, msg),
        now,
      });
      leases.start();
      log.info({ instance, shards: opts.shards, tasks: engine.taskIds.length }, 'alerting engine ready (shards by lease)');
      return;
    }
    if (opts.replay !== false) {
      // Who was sent already, before the replay evaluates the events no instance evaluated.
      for (const id of engine.taskIds)
        if (engine.task(id)!.state === 'running' && !restored.has(id)) {
          restored.add(id);
          const r = await engine.restoreClaims(id);
          if (r.claims) log.info({ task: id, ...r }, 'restored what was already sent');
        }
      const floors = await ackFloors(nc, opts.shards);
      const longestDwell = Math.max(0, ...engine.taskIds.map((id) => engine.task(id)!.spec.minDwellMin));
      await replayPresence(nc, engine, opts.shards, now() - engine.presence.stalenessMs - longestDwell * 60_000, log, floors, inGap);
    }
    booted = true;
    for (const u of pendingUpdates.splice(0)) enqueue(() => onRecord(u.key, u.value));
    for (const id of engine.taskIds) if (engine.task(id)!.state === 'running') enqueue(() => activate(id));
    if (inGap.length)
      enqueue(async () =>
        log.info({ sent: await engine.sendSoon(inGap), qualified: inGap.length }, 'sent those who qualified while no instance ran'),
      );
    await queue;
    for (const s of opts.shards)
      void consumeShard(s).catch((err) => {
        if (!stopping) log.error({ err, shard: s }, 'shard consumer ended');
      });
    log.info({ instance, shards: opts.shards, tasks: engine.taskIds.length, subscribers: engine.presence.size }, 'alerting engine ready');
  })();

  /**
   * A shard's lease was won (at `epoch`): restore its people from LOCATION (events past its ack
   * floor evaluated, as at a restart), send who qualified in the gap and who is present now, then
   * consume it. In the task queue, so that it never interleaves with activations; the lease keeps
   * being renewed meanwhile by its own timer.
   */
  const acquire = (shard: number, epoch: number): void => {
    owned.set(shard, epoch);
    enqueue(async () => {
      if (owned.get(shard) !== epoch || stopping) return;
      const t0 = Date.now();
      const floors = await ackFloors(nc, [shard]);
      const inGap: Candidate[] = [];
      const longestDwell = Math.max(0, ...engine.taskIds.map((id) => engine.task(id)!.spec.minDwellMin));
      const events = await replayPresence(
        nc,
        engine,
        [shard],
        now() - engine.presence.stalenessMs - longestDwell * 60_000,
        log,
        floors,
        inGap,
      );
      if (owned.get(shard) !== epoch || stopping) return;
      const gapSent = inGap.length
        ? await engine.sendPersistently(inGap, { stopping: () => stopping || owned.get(shard) !== epoch }).catch(() => 0)
        : 0;
      let sent = 0;
      for (const id of engine.taskIds) if (engine.task(id)!.state === 'running') sent += await engine.activate(id);
      if (owned.get(shard) !== epoch || stopping) return;
      void consumeShard(shard).catch((err) => {
        if (!stopping && owned.get(shard) === epoch) log.error({ err, shard }, 'shard consumer ended');
      });
      log.info({ instance, shard, epoch, events, gapSent, sent, ms: Date.now() - t0 }, 'shard taken over');
    });
  };

  /** A shard's lease is no longer certainly ours: stop consuming it and forget its people here. */
  const lose = async (shard: number, epoch: number, reason: string): Promise<void> => {
    owned.delete(shard);
    const c = shardConsumers.get(shard);
    shardConsumers.delete(shard);
    await c?.close().catch(() => undefined);
    const present = engine.forget((i) => shardOfIndex(i) === shard);
    log.info({ instance, shard, epoch, reason, present }, 'shard handed over');
  };

  return {
    engine,
    store,
    instance,
    ready,
    idle: async () => {
      await queue;
    },
    async stop() {
      // Lease mode: hand the shards back first, so that the others take them at their next renewal.
      if (opts.leases) {
        await ready.catch(() => undefined);
        await leases?.stop().catch((err: unknown) => log.warn({ err }, 'could not hand the leases back'));
      }
      stopping = true;
      clearInterval(progressTimer);
      clearInterval(tickTimer);
      await ready.catch(() => undefined);
      await Promise.all(consumers.map((c) => c.close()));
      await Promise.allSettled([...inflightAll]);
      await queue;
      reachSub.unsubscribe();
      reachedSub.unsubscribe();
      whySub.unsubscribe();
      statuses.stop?.();
      await watchingStatus.catch(() => undefined);
      watcher.stop();
      await watching.catch(() => undefined);
      pub.close();
    },
  };
}
