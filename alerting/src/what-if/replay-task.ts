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
 * Housekeeping period in replayed time: live alerting ticks every second; people whose dwell is
 * reached between two moves are sent at the next tick, so a coarser period only makes those sends
 * up to this much later (who is sent is the same unless someone reaches the dwell and leaves within
 * it). Each tick also revisits the people held back, which is most of a replay's cost.
 * @default 5000
 */
export const REPLAY_TICK_MS = 5_000;

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
 * applied at its time and housekeeping ticks run between them.
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
  let t = 0;
  let steps = 0;
  const every = opts.yieldEvery ?? Infinity;
  const step = async () => {
    if (++steps % every === 0) await new Promise((r) => setImmediate(r));
  };
  const tickUntil = async (until: number) => {
    while (t < ticks.length && ticks[t]! <= until) {
      clock = ticks[t++]!;
      await engine.tick();
      await step();
    }
  };
  let n = 0;
  let last = from;
  for (const e of moves) {
    if (e.ts < from || e.ts >= to) continue;
    // Out-of-order input would run the clock backwards; presence ignores an older event anyway.
    if (e.ts < last) continue;
    last = e.ts;
    await tickUntil(e.ts);
    clock = e.ts;
    n++;
    const cands = engine.applyEvents([e], true);
    if (cands.length) await engine.sendSoon(cands);
    await step();
  }
  await tickUntil(to - 1);
  const progress = engine.progress().find((p) => p.taskId === WHAT_IF_TASK_ID);
  return { sends, matched: progress?.matched ?? 0, skipped: progress?.skipped ?? {}, moves: n };
}

/**
 * When housekeeping runs: every `tickMs` from `from`, and at each Asia/Shanghai midnight and each
 * daily window's opening inside the window (so those happen on time whatever the period).
 */
export function tickTimes(spec: Pick<AlertTaskSpec, 'windows'>, from: number, to: number, tickMs: number): number[] {
  const out: number[] = [];
  for (let x = from + tickMs; x < to; x += tickMs) out.push(x);
  const hhmm = (s: string) => (Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5))) * 60_000;
  for (let day = shanghaiMidnight(shanghaiDate(from)); day < to; day += 86_400_000) {
    for (const at of [day, ...spec.windows.map((w) => day + hhmm(w.start))]) if (at > from && at < to) out.push(at);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}
