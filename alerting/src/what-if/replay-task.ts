import { AlertTask, type AlertTaskSpec, type SkipReason } from '../contract.ts';
import { Engine } from '../engine/engine.ts';
import type { CityLocator } from '../geofence/city-locator.ts';
import { Presence, type PresenceEvent } from '../presence/presence.ts';
import { shanghaiDate, shanghaiMidnight } from '../rules/shanghai-time.ts';
import { memoryPorts, type ReplaySend } from './memory-ports.ts';

export type { ReplaySend } from './memory-ports.ts';

/** The replayed task's id (never a real task's: the portal's start with `bd-`). */
export const WHAT_IF_TASK_ID = 'what-if';

/**
 * Periodic housekeeping in replayed time: none by default. Live alerting ticks every second (and
 * revisits every member every 30 s) because it cannot know when something changes; a replay can.
 * Nothing decides anew between two moves except the clock reaching a Shanghai midnight (a new day's
 * dedup and caps), a daily window's opening, or someone's minimum dwell: the replay runs
 * housekeeping at the first two ({@link tickTimes}) and looks at each person again at the moment
 * their dwell is reached (see {@link replayTask}). Ticking every 5 s of a day revisited the people
 * held back 17,280 times and every member 2,880 times: 38 s for a district-day, 362 s when caps
 * bound (BENCHMARKS.md, session 18). A period (ms) may still be given, e.g. to compare.
 * @default Infinity
 */
export const REPLAY_TICK_MS = Infinity;

export interface ReplayWindow {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

export interface ReplayOptions {
  /** See {@link REPLAY_TICK_MS}. */
  tickMs?: number;
  /** The city of a cell, for local/roaming rules. @default none (such rules match nobody) */
  cityOf?: CityLocator;
  /**
   * Gives the event loop a turn every this many moves and ticks, so that a replay inside a live
   * service does not hold up its other work (timers, lease renewals). @default never
   */
  yieldEvery?: number;
}

export interface ReplayResult {
  /** Everyone the task would have sent, in the order sent. */
  sends: ReplaySend[];
  /** People seen inside the region while it ran. */
  matched: number;
  /** People held back at the end, by their latest reason (the last day's, as live). */
  skipped: Partial<Record<SkipReason, number>>;
  /** Moves applied inside the window. */
  moves: number;
}

/** A never-stale presence: the history has moves only, no periodic updates (see the README). */
const NEVER_STALE = Number.MAX_SAFE_INTEGER;

/**
 * Replays a draft task over a past window of movements, sending nothing: the live engine itself
 * ({@link Engine}: region membership, rules, windows, dwell, once-a-day dedup, caps and totals)
 * with in-memory ports and a clock that follows the moves. The task runs for exactly the window
 * (its start and end dates are taken as the window's days; its daily send windows apply): at `from`
 * everyone in the region is activated as live alerting does when a task starts, then each move is
 * applied at its time, housekeeping runs at each midnight and window opening, and a person whose
 * minimum dwell may be reached is seen again at that moment (their latest placement re-sighted:
 * the engine judges them as a periodic event does live, exactly on time instead of at a tick).
 *
 * @param before each person's last placement before `from` (their cell and since when), any order
 * @param moves the placements (cell changes) in `[from, to)`, in time order
 * @example
 * const { sends } = await replayTask(spec, { from, to }, before, moves);
 */
export async function replayTask(
  spec: AlertTaskSpec,
  window: ReplayWindow,
  before: readonly PresenceEvent[],
  moves: Iterable<PresenceEvent>,
  opts: ReplayOptions = {},
): Promise<ReplayResult> {
  const { from, to } = window;
  const tickMs = opts.tickMs ?? REPLAY_TICK_MS;
  let clock = from;
  const { ports, sends } = memoryPorts(() => clock, opts.cityOf);
  const engine = new Engine(ports, new Presence({ stalenessMs: NEVER_STALE }));
  engine.applyEvents(
    [...before].filter((e) => e.ts < from).sort((a, b) => a.ts - b.ts),
    false,
  );
  const task = AlertTask.parse({
    id: WHAT_IF_TASK_ID,
    version: 1,
    spec: { ...spec, startDate: shanghaiDate(from), endDate: shanghaiDate(Math.max(from, to - 1)) },
    state: 'running',
    startedAt: from,
    updatedAt: from,
  });
  engine.upsertTask(task);
  await engine.activate(WHAT_IF_TASK_ID);

  const ticks = tickTimes(task.spec, from, to, tickMs);
  // Re-sightings when someone's dwell may be reached: a move at t (into, inside or out of the region)
  // asks for one at t + dwell, so they come in time order (a queue); the person's latest placement
  // then is re-sighted (a move since asked for its own; one out of the region changes nothing).
  const dwellMs = task.spec.minDwellMin * 60_000;
  const latest = new Map<string, PresenceEvent>();
  const looks: { at: number; msisdn: string }[] = [];
  let look = 0;
  if (dwellMs > 0) {
    for (const e of before) if (e.ts < from && e.ts + dwellMs > from) looks.push({ at: e.ts + dwellMs, msisdn: e.msisdn });
    looks.sort((a, b) => a.at - b.at);
    for (const e of before) if (e.ts < from) latest.set(e.msisdn, e);
  }
  let t = 0;
  let steps = 0;
  const every = opts.yieldEvery ?? Infinity;
  // Per move nothing is awaited unless something is due (a tick, a look, a send, a turn for the event
  // loop): an await per move cost a promise and a microtask turn each, ~10 % of a plain replay.
  const stepDue = () => every !== Infinity && ++steps % every === 0;
  const step = () => new Promise((r) => setImmediate(r));
  /** When the next tick or look is due. */
  const nextDue = () => Math.min(t < ticks.length ? ticks[t]! : Infinity, look < looks.length ? looks[look]!.at : Infinity);
  const tickUntil = async (until: number) => {
    for (;;) {
      const tick = t < ticks.length ? ticks[t]! : Infinity;
      const seen = look < looks.length ? looks[look]!.at : Infinity;
      const next = Math.min(tick, seen);
      if (next > until) return;
      clock = next;
      if (seen <= tick) {
        const e = latest.get(looks[look++]!.msisdn);
        if (!e || e.kind === 'detach') continue;
        const cands = engine.applyEvents([{ ...e, ts: seen }], true);
        if (cands.length) await engine.sendSoon(cands);
      } else {
        t++;
        await engine.tick();
      }
      if (stepDue()) await step();
    }
  };
  let n = 0;
  let last = from;
  const one: PresenceEvent[] = [];
  for (const e of moves) {
    if (e.ts < from || e.ts >= to) continue;
    // Out-of-order input would run the clock backwards; presence ignores an older event anyway.
    if (e.ts < last) continue;
    last = e.ts;
    if (nextDue() <= e.ts) await tickUntil(e.ts);
    clock = e.ts;
    n++;
    if (dwellMs > 0) {
      latest.set(e.msisdn, e);
      if (e.kind !== 'detach') looks.push({ at: e.ts + dwellMs, msisdn: e.msisdn });
    }
    one[0] = e;
    const cands = engine.applyEvents(one, true);
    if (cands.length) await engine.sendSoon(cands);
    if (stepDue()) await step();
  }
  await tickUntil(to - 1);
  const progress = engine.progress().find((p) => p.taskId === WHAT_IF_TASK_ID);
  return { sends, matched: progress?.matched ?? 0, skipped: progress?.skipped ?? {}, moves: n };
}

/**
 * When housekeeping runs: at each Asia/Shanghai midnight and each daily window's opening inside the
 * window, and every `tickMs` from `from` when a period is given.
 */
export function tickTimes(spec: Pick<AlertTaskSpec, 'windows'>, from: number, to: number, tickMs: number): number[] {
  const out: number[] = [];
  if (Number.isFinite(tickMs) && tickMs > 0) for (let x = from + tickMs; x < to; x += tickMs) out.push(x);
  const hhmm = (s: string) => (Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5))) * 60_000;
  for (let day = shanghaiMidnight(shanghaiDate(from)); day < to; day += 86_400_000) {
    for (const at of [day, ...spec.windows.map((w) => day + hhmm(w.start))]) if (at > from && at < to) out.push(at);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}
