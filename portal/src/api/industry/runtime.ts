import { jetstream } from '@nats-io/jetstream';
import {
  consumeValidated,
  ensureConsumer,
  jetstreamManager,
  type Db,
  type Logger,
  type NatsConnection,
  type RunningConsumer,
} from '@geo/infra';
import { declareMessagingStreams, messagingNames, SmsReply, type MessagingNames, type SmsJob } from '@geo/messaging';
import type { Deps } from '../../http/context.ts';
import { dispatchSend, fireDueSchedules, housekeeping } from './dispatch.ts';
import { recordReply } from './replies.ts';

/** Where SMS jobs go: SMS_JOBS on NATS in production. */
export interface JobPublisher {
  publish(jobs: readonly SmsJob[]): Promise<void>;
}

/** Publishes each job to `sms.jobs.<carrier>` with Nats-Msg-Id = jobId, a window at a time. */
export function natsJobPublisher(nc: NatsConnection, window = 256, names: MessagingNames = messagingNames()): JobPublisher {
  const js = jetstream(nc);
  return {
    async publish(jobs) {
      for (let i = 0; i < jobs.length; i += window) {
        await Promise.all(
          jobs.slice(i, i + window).map((j) => js.publish(names.jobSubject(j.carrier), JSON.stringify(j), { msgID: j.jobId })),
        );
      }
    },
  };
}

export interface IndustryRuntime {
  deps: Deps;
  publisher?: JobPublisher;
  /** Sends being published by this process (the dispatcher and a route never publish one twice at once). */
  inFlight: Set<string>;
}

const runtimes = new WeakMap<Deps, IndustryRuntime>();

/** The runtime of these deps; without `startIndustry` sends are recorded and stay queued. */
export function runtimeOf(deps: Deps): IndustryRuntime {
  let r = runtimes.get(deps);
  if (!r) runtimes.set(deps, (r = { deps, inFlight: new Set() }));
  return r;
}

export interface IndustryOptions {
  /** Publishes jobs and consumes replies; omit to record sends without publishing them. */
  nc?: NatsConnection;
  /** A publisher other than NATS (takes precedence over `nc` for jobs). */
  publisher?: JobPublisher;
  /** How often due scheduled sends and queued sends are looked for. @default 1000 */
  tickMs?: number;
  /** Durable consumer name for replies; one per portal deployment. @default 'portal-industry-replies' */
  replyConsumer?: string;
  /**
   * Messaging's stream and subject names: a namespace lets tests share one nats-server with other
   * test files (as messaging's `MESSAGING_NS`). @default messagingNames() (the contract's names)
   */
  names?: MessagingNames;
}

export interface RunningIndustry {
  stop(): Promise<void>;
  /** Runs one dispatcher pass now (tests, and after a restart). */
  tick(): Promise<void>;
}

/**
 * Starts the industry-SMS background work for a portal: the dispatcher (fires due scheduled sends
 * — also those that came due while the portal was down — and publishes queued sends) and, with
 * NATS, the reply consumer that fills the inbox and forwards replies.
 */
export async function startIndustry(deps: Deps, opts: IndustryOptions = {}): Promise<RunningIndustry> {
  const rt = runtimeOf(deps);
  const names = opts.names ?? messagingNames();
  if (opts.nc) await declareMessagingStreams(opts.nc, 1, names);
  rt.publisher = opts.publisher ?? (opts.nc ? natsJobPublisher(opts.nc, 256, names) : undefined);
  let consumer: RunningConsumer | undefined;
  if (opts.nc) consumer = await startReplyConsumer(deps, opts.nc, opts.replyConsumer ?? 'portal-industry-replies', names, deps.log);

  let running: Promise<void> | undefined;
  const tick = async () => {
    if (running) return running;
    running = (async () => {
      try {
        await fireDueSchedules(deps.db);
        const { rows } = await deps.db.query<{ id: string }>(
          `SELECT id FROM sms_sends WHERE state = 'queued' ORDER BY created_at LIMIT 20`,
        );
        for (const r of rows) await dispatchSend(rt, r.id);
        await housekeeping(deps.db);
      } catch (err) {
        deps.log.error({ err }, 'industry dispatcher pass failed; will retry');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void tick(), opts.tickMs ?? 1000);
  await tick();
  return {
    tick,
    async stop() {
      clearInterval(timer);
      await running;
      await consumer?.stop();
      rt.publisher = undefined;
    },
  };
}

async function startReplyConsumer(
  deps: Deps,
  nc: NatsConnection,
  durable: string,
  names: MessagingNames,
  log: Logger,
): Promise<RunningConsumer> {
  const jsm = await jetstreamManager(nc);
  await ensureConsumer(jsm, names.eventsStream, { durable_name: durable, filter_subject: names.replySubject('*'), max_deliver: 10 });
  return consumeValidated({
    nc,
    service: 'portal',
    stream: names.eventsStream,
    consumer: durable,
    schema: SmsReply,
    log,
    handle: async (reply) => {
      await recordReply(runtimeOf(deps), reply);
    },
  });
}

export type { Db };
