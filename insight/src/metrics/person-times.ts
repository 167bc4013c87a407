import { EDGE_OUT, edgeStep, leftBy, type EdgeHysteresis, type EdgeState, type EdgeZone } from '@geo/infra/basics';
import { atom } from './privacy.ts';
import { ENTRY, LEFT } from './history-query.ts';
import { MIN } from './time.ts';

/** People by crossing pair ("from\tto" cell keys): MSISDN → the last time (s). */
export type PairTimes = Map<string, Map<number, number>>;

/**
 * Per person, last entry time (s) in the window (for dwell), and per crossing pair the last time
 * each person moved in (inflow) or out (outflow), keyed by MSISDN: internal only.
 */
export interface PersonTimes {
  entry: Map<number, number>;
  entered: PairTimes;
  left: PairTimes;
}
export const newTimes = (): PersonTimes => ({ entry: new Map(), entered: new Map(), left: new Map() });
const keepMax = (m: Map<number, number>, sub: number, t: number) => {
  const o = m.get(sub);
  if (o === undefined || t > o) m.set(sub, t);
};
const keepPairMax = (m: PairTimes, pair: string, sub: number, t: number) => {
  let subs = m.get(pair);
  if (!subs) m.set(pair, (subs = new Map()));
  keepMax(subs, sub, t);
};
/** Adds one per-person row (`ENTRY` / `LEFT` code, settled or fresh) to `times`: a max, so adding a row twice changes nothing. */
export function addPersonRow(times: PersonTimes, d: number, sub: number, t: number, from: number, to: number): void {
  if ((d & ~1) === ENTRY) {
    keepMax(times.entry, sub, t);
    if (from !== 0) keepPairMax(times.entered, `${from}\t${to}`, sub, t);
  } else if ((d & ~1) === LEFT) keepPairMax(times.left, `${from}\t${to}`, sub, t);
}

/**
 * A flow figure from the settled times and this answer's fresh ones (a person's time is the later
 * of the two): over crossing pairs, the pair's people with a time ≥ `fromS`, each pair's count
 * quantised to the grid of k.
 */
function pairSum(settled: PairTimes, fresh: PairTimes, fromS: number, k: number): number {
  let sum = 0;
  for (const [pair, subs] of settled) {
    const more = fresh.get(pair);
    // Fewer than k people in the pair, however their times fall: an atom of 0.
    if (subs.size + (more?.size ?? 0) < k) continue;
    let n = 0;
    for (const t of subs.values()) if (t >= fromS) n++;
    if (more) for (const [sub, t] of more) if (t >= fromS && !((subs.get(sub) ?? -1) >= fromS)) n++;
    sum += atom(n, k);
  }
  for (const [pair, subs] of fresh) {
    if (subs.size < k || settled.has(pair)) continue;
    let n = 0;
    for (const t of subs.values()) if (t >= fromS) n++;
    sum += atom(n, k);
  }
  return sum;
}

/** Drops times before `fromS` (s) in place: nothing an answer for a window from there reads. */
function prune(times: PersonTimes, fromS: number): void {
  for (const [sub, t] of times.entry) if (t < fromS) times.entry.delete(sub);
  for (const pairs of [times.entered, times.left])
    for (const [pair, subs] of pairs) {
      for (const [sub, t] of subs) if (t < fromS) subs.delete(sub);
      if (subs.size === 0) pairs.delete(pair);
    }
}

/** Older times are dropped from a cached region once its window has moved on this far. */
const PRUNE_EVERY_MS = 5 * MIN;

/** One polled region's settled times: every person's latest time in [from, upTo), and maybe older ones. */
export interface CachedTimes {
  from: number;
  upTo: number;
  /** The window start at the last pruning. */
  prunedFrom: number;
  times: PersonTimes;
}

/**
 * The settled part (before `upTo`) of each polled region's per-person times since `from`: a poll
 * then reads only the moves after `upTo` for "last hour", "since midnight" and dwell. Few regions
 * (each can hold tens of thousands of people). Each region's times are one accumulator, merged in
 * place by each poll (every merge is a max, so rows read twice change nothing) and pruned as its
 * window moves on, instead of copied on every poll.
 */
export class PersonTimesCache {
  private readonly entries = new Map<string, CachedTimes>();
  constructor(private readonly max = 32) {}

  /** Cached settled times usable for a window starting at `from`, evaluated at `at`. */
  get(key: string, from: number, at: number): CachedTimes | undefined {
    const hit = this.entries.get(key);
    return hit && hit.from <= from && hit.upTo <= at ? hit : undefined;
  }

  clear(): void {
    this.entries.clear();
  }

  /** A region's first settled times (its window starts at `from`, they cover up to `upTo`). */
  set(key: string, from: number, upTo: number, times: PersonTimes): void {
    this.entries.delete(key);
    this.entries.set(key, { from, upTo, prunedFrom: from, times });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /**
   * `hit`'s times now hold every settled row up to `upTo` for a window starting at `from`. Does
   * nothing when `hit` was dropped meanwhile (cleared after a late move, or evicted): the poll's
   * merge went to its own copy only.
   */
  advance(key: string, hit: CachedTimes, from: number, upTo: number): void {
    if (this.entries.get(key) !== hit) return;
    hit.from = Math.max(hit.from, from);
    // Concurrent polls of one region each merged everything before their own edge.
    hit.upTo = Math.max(hit.upTo, upTo);
    if (hit.from - hit.prunedFrom >= PRUNE_EVERY_MS) {
      prune(hit.times, Math.floor(hit.from / 1000));
      hit.prunedFrom = hit.from;
    }
    this.entries.delete(key);
    this.entries.set(key, hit);
  }
}

/** What an answer needs of the per-person times (seconds). */
export interface TimesAnswer {
  /** A person's (MSISDN) last entry time since the window's start (a first sighting counts), if any. */
  entryOf(sub: number): number | undefined;
  /** Inflow: over crossing pairs, the pair's people who moved in at or after `fromS`, each pair on the grid of k. */
  entered(fromS: number, k: number): number;
  /** Outflow, the same. */
  left(fromS: number, k: number): number;
}

/**
 * The per-person times of one answer: the cached settled ones (`hit`, from
 * {@link PersonTimesCache.get}) within the window starting at `fromMs`, plus `rows`, the
 * per-person rows read now (`ENTRY` / `LEFT` codes): settled ones (even codes, before `edgeMs`)
 * are merged into the cached accumulator for the next poll, fresh ones are held beside it for this
 * answer only. No `cache`: nothing is cached (replays).
 *
 * Nothing is copied: the cached accumulator may hold times older than the window (until pruned)
 * and is read through the window's start. It is shared with the region's other polls, so read the
 * answer before the next `await`: a poll of a later instant merges later times into it.
 */
export function personTimes(
  cache: PersonTimesCache | undefined,
  key: string,
  hit: CachedTimes | undefined,
  fromMs: number,
  edgeMs: number,
  rows: Iterable<readonly [d: number, sub: number, t: number, from: number, to: number]>,
): TimesAnswer {
  const settled = hit ? hit.times : newTimes();
  const fresh = newTimes();
  for (const [d, sub, t, a, b] of rows) addPersonRow((d & 1) === 0 ? settled : fresh, d, sub, t, a, b);
  if (cache) {
    if (hit) cache.advance(key, hit, fromMs, edgeMs);
    else cache.set(key, fromMs, edgeMs, settled);
  }
  const windowS = Math.floor(fromMs / 1000);
  return {
    entryOf: (sub) => {
      const s = settled.entry.get(sub);
      const f = fresh.entry.get(sub);
      return s === undefined || s < windowS ? f : f === undefined || s > f ? s : f;
    },
    entered: (fromS, k) => pairSum(settled.entered, fresh.entered, Math.max(fromS, windowS), k),
    left: (fromS, k) => pairSum(settled.left, fresh.left, Math.max(fromS, windowS), k),
  };
}

/** One stored move: subscriber, time (s), from cell key (0: a first sighting), to cell key. */
export type Move = readonly [sub: number, t: number, from: number, to: number];

/**
 * The per-person rows ({@link addPersonRow}'s `ENTRY` / `LEFT` codes, settled) of `moves` under
 * edge hysteresis (the shared rule, `@geo/infra/basics` edge-hysteresis, as alerting applies it):
 * an entry is a move in (`zoneOf` its cell is `inside`) that the rule counts as new, a leave is
 * written at the time the person left, with the move that took them out as its crossing pair.
 * `moves` in time order per subscriber (subscribers may interleave). Each person starts from the
 * zone their first move came from (inside: in; else not in: what came before is not read); a far
 * stretch long enough by `untilS` is a leave too.
 *
 * With no buffer and no minimum the rows are those of the stored moves themselves: an entry per
 * move from outside (or a first sighting) to inside, a leave per move from inside to outside.
 */
export function edgeRows(
  moves: Iterable<Move>,
  zoneOf: (cell: number) => EdgeZone,
  h: EdgeHysteresis | undefined,
  untilS: number,
): [d: number, sub: number, t: number, from: number, to: number][] {
  const rows: [number, number, number, number, number][] = [];
  const people = new Map<number, { state: EdgeState; exitFrom: number; exitTo: number }>();
  for (const [sub, t, from, to] of moves) {
    let p = people.get(sub);
    if (!p) {
      const start: EdgeState = from !== 0 && zoneOf(from) === 'inside' ? { phase: 'in', farSince: -1 } : EDGE_OUT;
      people.set(sub, (p = { state: start, exitFrom: 0, exitTo: 0 }));
    }
    const zone = to === 0 ? 'far' : zoneOf(to);
    if (p.state.phase === 'in' && zone !== 'inside') {
      p.exitFrom = from;
      p.exitTo = to;
    }
    const r = edgeStep(p.state, zone, t, h);
    if (r.leftAt !== undefined) rows.push([LEFT, sub, r.leftAt, p.exitFrom, p.exitTo]);
    if (r.entered) rows.push([ENTRY, sub, t, from, to]);
    p.state = r.state;
  }
  for (const [sub, p] of people) {
    const left = leftBy(p.state, untilS, h);
    if (left !== undefined) rows.push([LEFT, sub, left, p.exitFrom, p.exitTo]);
  }
  return rows;
}
