import { CLAIMS_STREAM, SendClaims, type AlertTaskSpec } from '@geo/alerting';
import { consumeValidated, ensureConsumer, jetstreamManager, type NatsConnection, type Queryable, type RunningConsumer } from '@geo/infra';
import { ExtensionRegistry, messagingNames, SmsReply, type MessagingNames } from '@geo/messaging';
import type { Deps } from '../../../http/context.ts';
import type { TaskForm } from '../task-form.ts';
import { withCheckInPrompts } from './prompt.ts';
import { createCheckIn, getCheckIn, moveCheckInEnd, pendingAreas, recordCheckInReply, setArea, type CheckIn } from './store.ts';

/**
 * What check-ins do in the background (#21): a durable consumer of messaging's replies records the
 * answers to check-in tasks, and a pass looks up where each person who answered was sent, from
 * alerting's claim log (each claim chunk records the person's serving cell when claimed:
 * `ClaimChunk.places`). That is the cell they were sent in, not their live one: the claim log is
 * alerting's durable record and any instance can read it; their live cell would need a per-person
 * look-up in alerting's presence or insight's checkpoint, which no service offers.
 */
export interface CheckInRuntime {
  registry?: ExtensionRegistry;
  stop(): Promise<void>;
  /** Looks up the areas of every pending answer now (tests; otherwise every `tickMs`). */
  resolveAreas(): Promise<number>;
}

const runtimes = new WeakMap<Deps, CheckInRuntime>();

export interface CheckInOptions {
  nc: NatsConnection;
  /** Messaging's names (a namespace in tests). @default messagingNames() */
  names?: MessagingNames;
  /** Alerting's claim-log stream. @default ALERT_CLAIMS */
  claimsStream?: string;
  /** Durable consumer of replies. @default 'portal-checkin-replies' */
  consumer?: string;
  /** How often pending areas are looked up. @default 2000 */
  tickMs?: number;
}

/** Starts the reply consumer and the area look-ups for a portal with NATS. */
export async function startCheckIns(deps: Deps, o: CheckInOptions): Promise<CheckInRuntime> {
  const names = o.names ?? messagingNames();
  const jsm = await jetstreamManager(o.nc);
  const durable = o.consumer ?? 'portal-checkin-replies';
  await ensureConsumer(jsm, names.eventsStream, { durable_name: durable, filter_subject: names.replySubject('*'), max_deliver: 10 });
  const registry = await ExtensionRegistry.open(o.nc, names.extensionsBucket);
  const consumer: RunningConsumer = await consumeValidated({
    nc: o.nc,
    service: 'portal',
    stream: names.eventsStream,
    consumer: durable,
    schema: SmsReply,
    log: deps.log,
    handle: async (reply) => {
      const outcome = await recordCheckInReply(deps.db, reply);
      if (outcome === 'closed')
        deps.log.info({ task: reply.sendId, replyId: reply.replyId }, 'check-in answer after closing: not recorded');
    },
  });
  // The claim log is only read (SendClaims.since); nothing is appended, so no publisher is given.
  const claims = new SendClaims(jsm, undefined as never, o.claimsStream ?? CLAIMS_STREAM);
  let running: Promise<number> | undefined;
  const resolveAreas = (): Promise<number> => {
    running ??= lookUpAreas(deps.db, claims)
      .catch((err) => {
        deps.log.warn({ err }, 'check-in areas: the claim log could not be read; will retry');
        return 0;
      })
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void resolveAreas(), o.tickMs ?? 2000);
  const rt: CheckInRuntime = {
    registry,
    resolveAreas,
    async stop() {
      clearInterval(timer);
      await running;
      await consumer.stop();
      runtimes.delete(deps);
    },
  };
  runtimes.set(deps, rt);
  return rt;
}

/**
 * One pass: per task with answers of unknown area, its claim log read from the start for those
 * numbers (a task's log is a few chunks of 20,000 people); a number in no chunk was never sent the
 * task (a forwarded SMS, a typed number) and its area is unknown.
 */
async function lookUpAreas(db: Queryable, claims: SendClaims): Promise<number> {
  let done = 0;
  for (const [taskId, wanted] of await pendingAreas(db)) {
    const found = new Map<string, { lat: number; lng: number }>();
    for await (const { chunk } of claims.since(taskId, 0)) {
      if (!chunk.places || !chunk.place) continue;
      for (let k = 0; k < chunk.msisdns.length; k++) {
        const m = chunk.msisdns[k]!;
        const at = chunk.place[k]!;
        if (at >= 0 && wanted.has(m) && !found.has(m)) found.set(m, { lat: chunk.places.lat[at]!, lng: chunk.places.lng[at]! });
      }
      if (found.size === wanted.size) break;
    }
    for (const m of wanted) await setArea(db, taskId, m, found.get(m));
    done += wanted.size;
  }
  return done;
}

/** The portal's check-in runtime, when NATS is attached. */
export const checkInRuntime = (deps: Deps): CheckInRuntime | undefined => runtimes.get(deps);

/**
 * The submit hook: a task whose form asks for check-in answers gets its check-in (extension, answers)
 * in the submit transaction, registered with messaging as a check-in that closes with it, and its
 * spec carries the extension so that alerting sends from it. Call after the task row is written and
 * before the task goes to the bucket; other tasks pass through unchanged.
 * @example task.spec = await attachCheckIn(tx, deps, { taskId: id, enterpriseId, accountId: p.accountId, form }, task.spec);
 */
export async function attachCheckIn(
  tx: Queryable,
  deps: Deps,
  t: { taskId: string; enterpriseId: string; accountId: string; form: TaskForm },
  spec: AlertTaskSpec,
): Promise<AlertTaskSpec> {
  const options = t.form.checkIn?.options;
  if (!options) return spec;
  // Each language's text ends with the prompt in its language, as the row (insertTask) has it.
  const prompted = withCheckInPrompts(spec, options);
  const registry = checkInRuntime(deps)?.registry;
  const taken: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const c: CheckIn = await createCheckIn(tx, { taskId: t.taskId, enterpriseId: t.enterpriseId, endDate: t.form.endDate, options }, taken);
    // Without NATS now, messaging registers the extension with the first SMS; closing then writes it.
    if (!registry || (await registerCheckIn(registry, c, t.accountId))) return { ...prompted, replyExtension: c.extension };
    await tx.query('DELETE FROM bigdata_checkins WHERE task_id = $1', [t.taskId]);
    taken.push(c.extension);
  }
  throw new Error('no free check-in extension in messaging’s registry');
}

/** Writes (or updates) the check-in's extension in messaging's registry, with its closing time. */
export function registerCheckIn(registry: ExtensionRegistry, c: CheckIn, accountId: string): Promise<boolean> {
  return registry.close(
    { extension: c.extension, enterpriseId: c.enterpriseId, accountId, sendId: c.taskId, kind: 'checkin', expiresAt: c.heldUntil },
    c.closesAt,
  );
}

/**
 * The update hook (`updateLiveTask`, for the console's PUT and a CAP Update): a check-in task whose
 * last day moved closes 3 days after the new one, in the portal's record and in messaging's registry
 * (which counts later answers `checkin_closed`). A check-in closed already stays closed; tasks
 * without a check-in pass. Call it in the update's transaction.
 */
export async function followEndDate(
  tx: Queryable,
  deps: Deps,
  t: { taskId: string; enterpriseId: string; accountId: string; endDate: string },
): Promise<CheckIn | undefined> {
  const c = await getCheckIn(tx, t.enterpriseId, t.taskId);
  if (!c) return undefined;
  const moved = await moveCheckInEnd(tx, c, t.endDate, Date.now());
  if (!moved) return undefined;
  const registry = checkInRuntime(deps)?.registry;
  if (registry && !(await registerCheckIn(registry, moved, t.accountId)))
    throw new Error(`check-in extension ${moved.extension} is held by another send`);
  return moved;
}
