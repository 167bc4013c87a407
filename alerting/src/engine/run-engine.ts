import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { LeaseManager, ensureDeadLetterStream, ensureKv, type Logger, type NatsConnection } from '@geo/infra';
import { declareLocationStream, shardOf } from '@geo/ingest';
import { Counter, Gauge, type Registry } from 'prom-client';
import { declareMessagingStreams, smsJobSubject } from '@geo/messaging';
import { progressSubject } from '../contract.ts';
import { Presence } from '../presence/presence.ts';
import type { CityLocator } from '../geofence/city-locator.ts';
import { ingestCityLocator } from '../geofence/ingest-admin-areas.ts';
import { CAPS_BUCKET, LEASES_BUCKET, TASKS_BUCKET, declareAlertingStreams } from '../streams.ts';
import { TaskStore } from '../tasks/task-store.ts';
import { KvBudget } from './budget.ts';
import { SendClaims } from './claims.ts';
import { JsPublisher } from './js-publisher.ts';
import { Engine } from './engine.ts';
import { ackFloors, replayPresence } from './replay.ts';
import { answerRequests } from './responders.ts';
import { shardConsumers, type ShardConsumerState } from './shard-consumer.ts';
import { TaskWatch } from './task-watch.ts';
import type { Candidate } from './task-runtime.ts';

export { ackFloors, replayPresence } from './replay.ts';

/** Back-off between attempts to take a held shard over (ms). */
const TAKEOVER_RETRY_MS = [500, 1000, 2000, 5000, 10_000];
/** A tick still running after this long is said to be overdue (log line, `alerting_ticks_overdue_total`). */
const TICK_OVERDUE_MS = 10_000;
/** How often jobs whose publish failed are published again (one retry at a time), whatever the tick does. */
const REPUBLISH_MS = 1_000;
/** How long after a lapse the people it held back are still sent when the shard is taken again here. */
const OWED_FOR_MS = 60_000;
export { nextState } from './task-watch.ts';

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
  /**
   * Where `alerting_gap_messages_total` (LOCATION messages lost in transit and read back),
   * `alerting_shard_consumer_restarts_total`, `alerting_shard_consumers` and
   * `alerting_shard_takeover_failures_total` are registered.
   */
  registry?: Registry;
  /** See ShardConsumerOptions.stallMs. @default 20000 */
  stallMs?: number;
  /** A tick running for longer than this makes each skipped tick count and be logged (#19). @default 10000 */
  tickOverdueMs?: number;
  /** How long a JetStream publish (claims, jobs) waits for its ack before it counts as failed. @default 15000 */
  publishTimeoutMs?: number;
}

export interface RunningEngine {
  engine: Engine;
  store: TaskStore;
  instance: string;
  /** Resolves once tasks are loaded, presence restored and consumers started. */
  ready: Promise<void>;
  /** Waits for queued task work (activations) to finish. */
  idle(): Promise<void>;
  /**
   * The shards this instance answers for now, each with its consumer's state: `consuming` false
   * for a shard held but not consumed (its take-over or a restart of its consumer under way).
   */
  shards(): ShardConsumerState[];
  /** People claimed whose jobs wait for their publish to be retried (see {@link Engine.awaitingPublish}). */
  awaitingPublish(): number;
  stop(): Promise<void>;
}

/**
 * Runs the alerting engine on NATS: watches `alert_tasks` ({@link TaskWatch}), restores presence
 * ({@link replayPresence}), consumes its LOCATION shards ({@link shardConsumers}), static or by
 * lease, sends, ticks, publishes progress and answers requests ({@link answerRequests}).
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
  const pub = new JsPublisher(nc, opts.publishTimeoutMs ?? 15_000);
  const claims = new SendClaims(await js.jetstreamManager(), pub);
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
      publish: (b) => pub.publish(smsJobSubject(b.carrier), b.data, { msgID: b.msgId }),
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
  /**
   * Lease mode: per shard whose lease lapsed here, the people chosen for sending and dropped during
   * the lapse, and when it was lost: sent if this instance takes the shard again soon (#19).
   */
  const owedByShard = new Map<number, { cands: Candidate[]; at: number }>();
  /** Lease mode: shards won whose take-over (replay, gap, activation) is under way, since when, and its retry back-off. */
  const takingOver = new Map<number, { since: number; backoffMs: number }>();
  /** The shards this instance answers for now. */
  const myShards = () => (opts.leases ? [...owned.keys()].sort((a, b) => a - b) : opts.shards);
  let stopping = false;
  const tasks = new TaskWatch({ kv: tasksKv, store, engine, log, now });
  const shards = await shardConsumers({
    nc,
    engine,
    log,
    stopping: () => stopping,
    givesUp: (shard) => stopping || (opts.leases !== undefined && !owned.has(shard)),
    inflight: opts.inflight,
    pullMessages: opts.pullMessages,
    onBatch: opts.onBatch,
    registry: opts.registry,
    stallMs: opts.stallMs,
  });
  if (opts.registry)
    new Gauge({
      name: 'alerting_jobs_awaiting_publish',
      help: 'People claimed whose SMS_JOBS publish failed (no ack) and waits to be retried: not quiet while above 0',
      registers: [opts.registry],
      collect() {
        this.set(engine.awaitingPublish);
      },
    });
  const takeoverFailures = opts.registry
    ? new Counter({
        name: 'alerting_shard_takeover_failures_total',
        help: 'Take-overs of a shard (presence replay, gap evaluation, activation, consumer start) that failed and were tried again while its lease was held',
        registers: [opts.registry],
      })
    : undefined;
  /** Presence is restored from LOCATION back to the staleness limit plus the longest minimum dwell. */
  const replayFrom = () =>
    now() - engine.presence.stalenessMs - Math.max(0, ...engine.taskIds.map((id) => engine.task(id)!.spec.minDwellMin)) * 60_000;

  const progressTimer = setInterval(() => {
    for (const p of engine.progress()) nc.publish(progressSubject(p.taskId), JSON.stringify(p));
  }, opts.tickMs ?? 1000);
  /** When the tick under way started (performance.now()), undefined when none runs. */
  let tickingSince: number | undefined;
  let overdueSaid = 0;
  const overdueMs = opts.tickOverdueMs ?? TICK_OVERDUE_MS;
  const ticksOverdue = opts.registry
    ? new Counter({
        name: 'alerting_ticks_overdue_total',
        help: 'Ticks skipped because the previous tick had been running for longer than the overdue limit (a tick stuck awaiting NATS)',
        registers: [opts.registry],
      })
    : undefined;
  const tickTimer = setInterval(() => {
    if (!tasks.isBooted || stopping) return;
    if (tickingSince !== undefined) {
      // A tick still running: skipped. Said when it has run for longer than the limit (#19: a tick
      // awaiting NATS while the cluster elects leaders stops every later one, and nothing said so).
      const runningMs = performance.now() - tickingSince;
      if (runningMs > overdueMs) {
        ticksOverdue?.inc();
        if (performance.now() - overdueSaid > overdueMs) {
          overdueSaid = performance.now();
          log.warn(
            { instance, runningMs: Math.round(runningMs), awaitingPublish: engine.awaitingPublish },
            'tick still running; later ticks skipped',
          );
        }
      }
      return;
    }
    tickingSince = performance.now();
    void (async () => {
      await tasks.advance();
      await engine.tick();
    })()
      .catch((err) => log.error({ err }, 'tick failed'))
      .finally(() => (tickingSince = undefined));
  }, opts.tickMs ?? 1000);
  // Jobs whose publish failed (claims stored) are published again on their own timer, not only by
  // the tick: a tick stuck on a slow send or KV call held back the drill's 936 people (#19).
  const retryTimer = setInterval(() => {
    if (stopping || engine.awaitingPublish === 0) return;
    void engine.retryPublishes().catch((err: unknown) => log.error({ err }, 'publishing jobs again failed'));
  }, REPUBLISH_MS);
  retryTimer.unref?.();

  // Reached: lease mode counts the people of the shards held now, whoever claimed them (a shard taken
  // over keeps its counts); static shards count what this instance claimed (two static instances may
  // both consume every shard).
  const stopAnswering = answerRequests(nc, engine, instance, myShards, (shard, by) => (opts.leases ? owned.has(shard) : by === instance));

  const ready = (async () => {
    await tasks.start();
    const inGap: Candidate[] = [];
    if (opts.leases) {
      // Lease mode: shards (their replay, gap evaluation and consumer) start as their leases are won.
      for (const id of tasks.running()) await tasks.restoreOnce(id);
      tasks.boot();
      await tasks.idle();
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
      for (const id of tasks.running()) await tasks.restoreOnce(id);
      const floors = await ackFloors(nc, opts.shards);
      await replayPresence(nc, engine, opts.shards, replayFrom(), log, floors, inGap);
    }
    tasks.boot();
    for (const id of tasks.running()) tasks.enqueue(() => tasks.activate(id));
    if (inGap.length)
      tasks.enqueue(async () =>
        log.info({ sent: await engine.sendSoon(inGap), qualified: inGap.length }, 'sent those who qualified while no instance ran'),
      );
    await tasks.idle();
    for (const s of opts.shards)
      void shards.consume(s).catch((err) => {
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
    // Dropped after the lease was lost (a send that ended late): the replay and activation decide them.
    engine.takeNotOwned((i) => shardOfIndex(i) === shard);
    const owed = owedByShard.get(shard);
    if (owed && now() - owed.at > OWED_FOR_MS) owedByShard.delete(shard);
    owned.set(shard, epoch);
    takingOver.set(shard, { since: performance.now(), backoffMs: 0 });
    takeOver(shard, epoch, 0);
  };

  /**
   * The take-over's work, tried again with back-off while the lease is held at `epoch`: it reads
   * the stream and the consumer, which fail while a cluster elects leaders (the moment leases are
   * lost and won again), and a shard whose lease is renewed but whose take-over was given up is
   * evaluated by nobody. A failed attempt forgets what it restored of the shard's people, so the
   * next one replays them from scratch (claims keep sends once-only).
   */
  const takeOver = (shard: number, epoch: number, attempt: number): void => {
    const current = () => owned.get(shard) === epoch && !stopping;
    tasks.enqueue(async () => {
      if (!current()) return;
      const t0 = Date.now();
      try {
        // The sends of the shard's previous run (this instance's, before the lease lapsed) end first:
        // the people they held as being sent are given back, for the replay to evaluate (#19).
        await shards.settled(shard);
        if (!current()) return;
        const floors = await ackFloors(nc, [shard]);
        const inGap: Candidate[] = [];
        // Chosen by the replay and not sent (it failed, or the lease went meanwhile): given back, so
        // that the next take-over's replay chooses them again (#19).
        const events = await replayPresence(nc, engine, [shard], replayFrom(), log, floors, inGap).catch((err: unknown) => {
          engine.unmark(inGap);
          throw err;
        });
        if (!current()) return engine.unmark(inGap);
        const gapSent = inGap.length ? await engine.sendPersistently(inGap, { stopping: () => !current() }).catch(() => 0) : 0;
        let sent = 0;
        for (const id of tasks.running()) sent += await engine.activate(id);
        if (!current()) return;
        const owed = owedByShard.get(shard);
        const owedSent = owed ? await engine.sendOwed(owed.cands, { stopping: () => !current() }) : 0;
        if (!current()) return;
        owedByShard.delete(shard);
        takingOver.delete(shard);
        void shards.consume(shard).catch((err: unknown) => {
          if (current()) log.error({ err, shard }, 'shard consumer ended');
        });
        log.info({ instance, shard, epoch, events, gapSent, sent, owedSent, attempt, ms: Date.now() - t0 }, 'shard taken over');
      } catch (err) {
        if (!current()) return;
        engine.forget((i) => shardOfIndex(i) === shard);
        const waitMs = TAKEOVER_RETRY_MS[Math.min(attempt, TAKEOVER_RETRY_MS.length - 1)]!;
        takeoverFailures?.inc();
        const t = takingOver.get(shard);
        if (t) t.backoffMs = waitMs;
        log.error({ err, instance, shard, epoch, attempt, waitMs }, 'taking the shard over failed; trying again');
        setTimeout(() => takeOver(shard, epoch, attempt + 1), waitMs).unref();
      }
    });
  };

  /** A shard's lease is no longer certainly ours: stop consuming it and forget its people here. */
  const lose = async (shard: number, epoch: number, reason: string): Promise<void> => {
    owned.delete(shard);
    // A lapse (`expired`): this instance usually takes the shard again at once, and the people its
    // ticks chose meanwhile are sent then. Handed over or taken: the new owner decides about them.
    const dropped = engine.takeNotOwned((i) => shardOfIndex(i) === shard);
    if (reason === 'expired' && dropped.length) owedByShard.set(shard, { cands: dropped, at: now() });
    else owedByShard.delete(shard);
    takingOver.delete(shard);
    await shards.close(shard);
    const present = engine.forget((i) => shardOfIndex(i) === shard);
    log.info({ instance, shard, epoch, reason, present }, 'shard handed over');
  };

  return {
    engine,
    store,
    instance,
    ready,
    idle: () => tasks.idle(),
    awaitingPublish: () => engine.awaitingPublish,
    shards() {
      const states = new Map(shards.states().map((st) => [st.shard, st]));
      const at = performance.now();
      return myShards().map((shard) => {
        const st = states.get(shard);
        if (st) return st;
        const t = takingOver.get(shard);
        return {
          shard,
          consuming: false,
          restarts: 0,
          backoffMs: t?.backoffMs ?? 0,
          ...(t ? { idleMs: Math.round(at - t.since), takingOver: true } : {}),
        };
      });
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
      clearInterval(retryTimer);
      await ready.catch(() => undefined);
      await shards.stop();
      await tasks.idle();
      stopAnswering();
      await tasks.stop();
      pub.close();
    },
  };
}
