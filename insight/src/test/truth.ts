import type { LocationEvent } from '@geo/ingest';
import { atom } from '../metrics/privacy.ts';
import type { Person } from './population.ts';

/**
 * The truth about a simulated population, computed straight from each person's event list —
 * independently of the sink's state machine and of ClickHouse.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
export const STALE = 2 * HOUR;

export type InRegion = (cell: string) => boolean;

/** The last event at or before t (`strict`: before t). */
export function lastEvent(p: Person, t: number, strict = false): LocationEvent | undefined {
  let last: LocationEvent | undefined;
  for (const e of p.events) {
    if (strict ? e.ts >= t : e.ts > t) break;
    last = e;
  }
  return last;
}

export function presentAt(p: Person, t: number, strict = false): LocationEvent | undefined {
  const e = lastEvent(p, t, strict);
  return e && e.kind !== 'detach' && e.ts > t - STALE ? e : undefined;
}

/** Moves: consecutive events in different cells (a first event is an entry from nowhere). */
const movesCache = new WeakMap<Person, { ts: number; from: string | null; to: string }[]>();
export function movesOf(p: Person): { ts: number; from: string | null; to: string }[] {
  const cached = movesCache.get(p);
  if (cached) return cached;
  const out: { ts: number; from: string | null; to: string }[] = [];
  movesCache.set(p, out);
  let prev: string | null = null;
  for (const e of p.events) {
    if (e.cell !== prev) out.push({ ts: e.ts, from: prev, to: e.cell });
    prev = e.cell;
  }
  return out;
}

/** Distinct people entering (from a known cell outside) / leaving the region with lo ≤ ts < hi (or ≤ hi). */
export function flow(people: Person[], inR: InRegion, lo: number, hi: number, dir: 'in' | 'out', hiInclusive = true): number {
  let n = 0;
  for (const p of people) {
    const hit = movesOf(p).some(
      (m) =>
        m.from !== null &&
        m.ts >= lo &&
        (hiInclusive ? m.ts <= hi : m.ts < hi) &&
        (dir === 'in' ? inR(m.to) && !inR(m.from) : inR(m.from) && !inR(m.to)),
    );
    if (hit) n++;
  }
  return n;
}

/** Population at a 5-minute boundary as the sink snapshots it (events strictly before B). */
export function populationAtBoundary(people: Person[], inR: InRegion, b: number): number {
  let n = 0;
  for (const p of people) {
    const e = presentAt(p, b, true);
    if (e && inR(e.cell)) n++;
  }
  return n;
}

/** Time the person last entered the region (last move into it from outside or from nowhere), at or before t. */
export function entryTime(p: Person, inR: InRegion, t: number): number | undefined {
  let entry: number | undefined;
  for (const m of movesOf(p)) {
    if (m.ts > t) break;
    if (inR(m.to) && (m.from === null || !inR(m.from))) entry = m.ts;
  }
  return entry;
}

/**
 * Σ over groups of the group's size quantised to the grid of k (`atom`): the privacy atoms' truth. `groupOf`
 * names a thing's atom (e.g. its cell and category), or undefined to leave it out.
 */
export function atomSum<T>(things: Iterable<T>, groupOf: (t: T) => string | undefined, k: number): number {
  const n = new Map<string, number>();
  for (const t of things) {
    const g = groupOf(t);
    if (g !== undefined) n.set(g, (n.get(g) ?? 0) + 1);
  }
  let sum = 0;
  for (const v of n.values()) sum += atom(v, k);
  return sum;
}

/** Population at a 5-minute boundary as released: per (carrier, cell), a cell under k taken as 0. */
export function populationAtBoundaryAtoms(people: Person[], inR: InRegion, b: number, k: number): number {
  const present: string[] = [];
  for (const p of people) {
    const e = presentAt(p, b, true);
    if (e && inR(e.cell)) present.push(`${e.carrier}:${e.cell}`);
  }
  return atomSum(present, (c) => c, k);
}

/**
 * Flow as released: over crossing (from cell → to cell) pairs, the distinct people who made that
 * move with lo ≤ ts < hi (or ≤ hi), a pair under k taken as 0. Both cells are the person's carrier's
 * (invariant 8), so a pair is a carrier's.
 */
export function flowAtoms(
  people: Person[],
  inR: InRegion,
  lo: number,
  hi: number,
  dir: 'in' | 'out',
  k: number,
  hiInclusive = true,
): number {
  const crossings: string[] = [];
  for (const p of people) {
    const pairs = new Set<string>();
    for (const m of movesOf(p)) {
      if (m.from === null || m.ts < lo || (hiInclusive ? m.ts > hi : m.ts >= hi)) continue;
      if (dir === 'in' ? inR(m.to) && !inR(m.from) : inR(m.from) && !inR(m.to)) pairs.add(`${p.events[0]!.carrier}:${m.from}>${m.to}`);
    }
    crossings.push(...pairs);
  }
  return atomSum(crossings, (c) => c, k);
}
