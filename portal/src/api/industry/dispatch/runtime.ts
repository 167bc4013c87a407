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
import type { Deps } from '../../../http/context.ts';
import { instanceId, leaseMs } from '../../../jobs/instance.ts';
import { claimNextSend, dispatchSend, fireDueSchedules, housekeeping } from './dispatch.ts';
import { recordReply } from '../inbox/replies.ts';

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

/** Queued sends one dispatcher pass takes up at most. */
const PASS_SENDS = 20;

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

/** What one dispatcher pass did. */
export interface DispatcherPass {
  /** Scheduled sends this pass found due and queued. */
  fired: string[];
  /** Queued sends this pass took up to publish. */
  selected: string[];
}

export interface RunningIndustry {
  stop(): Promise<void>;
  /** Runs one dispatcher pass now (tests, and after a restart); a pass already running is joined. */
  tick(): Promise<DispatcherPass>;
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

  let running: Promise<DispatcherPass> | undefined;
  const tick = async (): Promise<DispatcherPass> => {
    if (running) return running;
    running = (async () => {
      const pass: DispatcherPass = { fired: [], selected: [] };
      try {
        pass.fired = await fireDueSchedules(deps.db);
        // Up to 20 sends a pass, each claimed as it is taken up (not all 20 at once: the others stay
        // free for the passes of other instances meanwhile).
        const me = instanceId(deps);
        for (let id: string | undefined; rt.publisher && pass.selected.length < PASS_SENDS;) {
          id = await claimNextSend(deps.db, me, leaseMs(deps), pass.selected);
          if (!id) break;
          pass.selected.push(id);
          await dispatchSend(rt, id);
        }
        await housekeeping(deps.db);
      } catch (err) {
        deps.log.error({ err }, 'industry dispatcher pass failed; will retry');
      } finally {
        running = undefined;
      }
      return pass;
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
