import { atom } from './privacy.ts';
import { ENTRY, LEFT } from './history-query.ts';

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
/** Adds one per-person row (`ENTRY` / `LEFT` code, settled or fresh) to `times`. */
export function addPersonRow(times: PersonTimes, d: number, sub: number, t: number, from: number, to: number): void {
  if ((d & ~1) === ENTRY) {
    keepMax(times.entry, sub, t);
    if (from !== 0) keepPairMax(times.entered, `${from}\t${to}`, sub, t);
  } else if ((d & ~1) === LEFT) keepPairMax(times.left, `${from}\t${to}`, sub, t);
}
export const copyPairs = (m: PairTimes, fromS: number): PairTimes => {
  const out: PairTimes = new Map();
  for (const [pair, subs] of m) {
    const kept = new Map<number, number>();
    for (const [sub, t] of subs) if (t >= fromS) kept.set(sub, t);
    if (kept.size) out.set(pair, kept);
  }
  return out;
};
/** A flow figure: over crossing pairs, the pair's people with a time ≥ `fromS`, each pair's count quantised to the grid of k. */
export function pairSum(m: PairTimes, fromS: number, k: number): number {
  let sum = 0;
  for (const subs of m.values()) {
    if (subs.size < k) continue;
    let n = 0;
    for (const t of subs.values()) if (t >= fromS) n++;
    sum += atom(n, k);
  }
  return sum;
}

/**
 * The settled part (before `upTo`) of each polled region's per-person times since `from`: a poll
 * then reads only the moves after `upTo` for "last hour", "since midnight" and dwell. Few regions
 * (each can hold tens of thousands of people).
 */
export class PersonTimesCache {
  private readonly entries = new Map<string, { from: number; upTo: number; times: PersonTimes }>();
  constructor(private readonly max = 32) {}

  /** Cached settled times usable for a window starting at `from`, evaluated at `at`. */
  get(key: string, from: number, at: number): { upTo: number; times: PersonTimes } | undefined {
    const hit = this.entries.get(key);
    return hit && hit.from <= from && hit.upTo <= at ? hit : undefined;
  }

  clear(): void {
    this.entries.clear();
  }

  set(key: string, from: number, upTo: number, times: PersonTimes): void {
    this.entries.delete(key);
    this.entries.set(key, { from, upTo, times });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
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
 * {@link PersonTimesCache.get}) still in the window starting at `fromMs`, plus `rows`, the
 * per-person rows read now (`ENTRY` / `LEFT` codes): settled ones (even codes, before `edgeMs`)
 * are cached under `key` for the next poll, fresh ones count for this answer only. No `cache`:
 * nothing is cached (replays).
 */
export function personTimes(
  cache: PersonTimesCache | undefined,
  key: string,
  hit: { upTo: number; times: PersonTimes } | undefined,
  fromMs: number,
  edgeMs: number,
  rows: Iterable<readonly [d: number, sub: number, t: number, from: number, to: number]>,
): TimesAnswer {
  const settled = newTimes();
  if (hit) {
    const from = Math.floor(fromMs / 1000);
    for (const [sub, t] of hit.times.entry) if (t >= from) settled.entry.set(sub, t);
    settled.entered = copyPairs(hit.times.entered, from);
    settled.left = copyPairs(hit.times.left, from);
  }
  const fresh: (readonly [number, number, number, number, number])[] = [];
  for (const row of rows) {
    const [d, sub, t, a, b] = row;
    if ((d & 1) === 0) addPersonRow(settled, d, sub, t, a, b);
    else fresh.push(row);
  }
  if (cache)
    cache.set(key, fromMs, edgeMs, {
      entry: new Map(settled.entry),
      entered: copyPairs(settled.entered, 0),
      left: copyPairs(settled.left, 0),
    });
  for (const [d, sub, t, a, b] of fresh) addPersonRow(settled, d, sub, t, a, b);
  return {
    entryOf: (sub) => settled.entry.get(sub),
    entered: (fromS, k) => pairSum(settled.entered, fromS, k),
    left: (fromS, k) => pairSum(settled.left, fromS, k),
  };
}
