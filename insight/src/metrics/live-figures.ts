/**
 * The live figures of a region: its present people (from the presence index, grouped by cell) by
 * carrier, gender, age, home and locality, each summed as privacy atoms per cell (README "Privacy
 * model"), and the dwell of those people once their last entry times are known.
 */
import type { PresenceState } from '../sink/presence-state.ts';
import { AGE_BANDS, DWELL_BUCKETS, GENDERS } from '../api/schemas.ts';
import { atom } from './privacy.ts';
import type { CellGroups } from './presence-index.ts';
import { HOUR, MIN, secs } from './time.ts';

export function ageBand(age: number): (typeof AGE_BANDS)[number] {
  if (age === 255) return 'unknown';
  if (age < 18) return '<18';
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 55) return '45-54';
  if (age < 65) return '55-64';
  return '65+';
}

const DWELL_LIMITS = [30 * MIN, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR];
export function dwellBucket(ms: number): number {
  let b = 0;
  while (b < DWELL_LIMITS.length && ms >= DWELL_LIMITS[b]!) b++;
  return b;
}

/** Age band index per stored age (0–254, 255 = unknown). */
const AGE_BAND_INDEX = Uint8Array.from({ length: 256 }, (_, a) => AGE_BANDS.indexOf(ageBand(a)));

/** Released sums of atoms (each a multiple of k), and the counted people for dwell. */
export interface LiveFigures {
  total: number;
  /** Indexed by carrier code (1 cmcc, 2 cucc, 3 ctcc). */
  byCarrier: number[];
  /** male, female, unknown. */
  gender: number[];
  age: number[];
  /** gender × age band, `g * AGE_BANDS.length + band`. */
  genderAge: number[];
  /** Home province / city code → atoms. */
  provinces: Map<number, number>;
  cities: Map<number, number>;
  unknownHome: number;
  local: number;
  roaming: number;
  unknownLocality: number;
  /** Dense indexes of the people in counted cells (internal, exact), cell after cell… */
  present: Uint32Array;
  /** …where each counted cell's people start in `present` (and one past the last). */
  cellEdges: number[];
}

/**
 * One pass over the region's cells' present members. A cell with fewer than k people present
 * contributes nothing to any figure (each of its categories holds fewer than k): skipped whole.
 */
export function liveFigures(state: PresenceState, groups: CellGroups, indexes: ArrayLike<number>, k: number): LiveFigures {
  const cells = state.cells;
  const NB = AGE_BANDS.length;
  const byCarrier = [0, 0, 0, 0];
  const gender = [0, 0, 0];
  const genderAge = new Array<number>(GENDERS.length * NB).fill(0);
  const age = new Array<number>(NB).fill(0);
  const provinces = new Map<number, number>();
  const cities = new Map<number, number>();
  let unknownHome = 0;
  let local = 0;
  let roaming = 0;
  let unknownLocality = 0;
  let total = 0;
  // `counted` is how many people the counted cells hold (exact, internal); `total` their released sum of atoms.
  let counted = 0;
  for (let x = 0; x < indexes.length; x++) {
    const c = indexes[x]!;
    const n = groups.start[c + 1]! - groups.start[c]!;
    if (n < k) continue;
    counted += n;
    total += atom(n, k);
  }
  const present = new Uint32Array(counted);
  const cellEdges: number[] = [0];
  let np = 0;
  const cCarrier = [0, 0, 0, 0];
  const cGender = [0, 0, 0];
  const cAge = new Array<number>(NB).fill(0);
  const cGenderAge = new Array<number>(GENDERS.length * NB).fill(0);
  const cProvinces = new Map<number, number>();
  const cCities = new Map<number, number>();
  for (let x = 0; x < indexes.length; x++) {
    const c = indexes[x]!;
    const s0 = groups.start[c]!;
    const end = groups.start[c + 1]!;
    if (end - s0 < k) continue;
    const here = cells.city[c]!;
    cCarrier.fill(0);
    cGender.fill(0);
    cAge.fill(0);
    cGenderAge.fill(0);
    cProvinces.clear();
    cCities.clear();
    let cNoHome = 0;
    let cLocal = 0;
    let cRoaming = 0;
    let cUnknownLocality = 0;
    for (let j = s0; j < end; j++) {
      const i = groups.members[j]!;
      present[np++] = i;
      cCarrier[state.carrier[i]!]!++;
      const g = state.gender[i] === 1 ? 0 : state.gender[i] === 2 ? 1 : 2;
      const a = AGE_BAND_INDEX[state.age[i]!]!;
      cGender[g]!++;
      cAge[a]!++;
      cGenderAge[g * NB + a]!++;
      const home = state.home[i]!;
      if (home === 0) cNoHome++;
      else {
        const p = Math.floor(home / 10000) * 10000;
        const ci = Math.floor(home / 100) * 100;
        cProvinces.set(p, (cProvinces.get(p) ?? 0) + 1);
        cCities.set(ci, (cCities.get(ci) ?? 0) + 1);
      }
      if (home === 0 || here === 0) cUnknownLocality++;
      else if (Math.floor(home / 100) * 100 === here) cLocal++;
      else cRoaming++;
    }
    cellEdges.push(np);
    for (let x = 0; x < 4; x++) byCarrier[x]! += atom(cCarrier[x]!, k);
    for (let x = 0; x < 3; x++) gender[x]! += atom(cGender[x]!, k);
    for (let x = 0; x < NB; x++) age[x]! += atom(cAge[x]!, k);
    for (let x = 0; x < cGenderAge.length; x++) genderAge[x]! += atom(cGenderAge[x]!, k);
    for (const [code, n] of cProvinces) if (n >= k) provinces.set(code, (provinces.get(code) ?? 0) + atom(n, k));
    for (const [code, n] of cCities) if (n >= k) cities.set(code, (cities.get(code) ?? 0) + atom(n, k));
    unknownHome += atom(cNoHome, k);
    local += atom(cLocal, k);
    roaming += atom(cRoaming, k);
    unknownLocality += atom(cUnknownLocality, k);
  }
  return { total, byCarrier, gender, age, genderAge, provinces, cities, unknownHome, local, roaming, unknownLocality, present, cellEdges };
}

/**
 * Dwell of the counted present people: time since their last entry (`entryOf`: MSISDN → seconds),
 * or > 8 h when none is that recent; summed as atoms per (cell, band).
 *
 * `entrants` (optional): every MSISDN that may have an entry time (a superset is fine). Then only
 * they are looked up — everyone else present is > 8 h — instead of every present person: a whole
 * city holds ~130,000 present people and a few tens of thousands of entrants a day, and each lookup
 * is a hash of a 52-bit number (~15–30 ms a query for the city).
 */
export function dwellFigures(
  state: PresenceState,
  live: LiveFigures,
  entryOf: (sub: number) => number | undefined,
  at: number,
  k: number,
  entrants?: Iterable<number>,
): number[] {
  const { present, cellEdges } = live;
  const NB = DWELL_BUCKETS.length;
  const LAST = NB - 1;
  const dwell = new Array<number>(NB).fill(0);
  const entryAfter = secs(at - 8 * HOUR);
  const band = (sub: number) => {
    const t = entryOf(sub);
    return t === undefined || t <= entryAfter ? LAST : dwellBucket(at - t * 1000);
  };
  const cells = cellEdges.length - 1;
  if (!entrants) {
    const cDwell = new Array<number>(NB).fill(0);
    for (let e = 0; e < cells; e++) {
      cDwell.fill(0);
      for (let j = cellEdges[e]!; j < cellEdges[e + 1]!; j++) cDwell[band(state.msisdn[present[j]!]!)]!++;
      for (let b = 0; b < NB; b++) dwell[b]! += atom(cDwell[b]!, k);
    }
    return dwell;
  }
  // Which counted cell each present person is in (this call's stamp), then the entrants' bands.
  const { stamp, edge, gen } = scratch(state.count);
  for (let e = 0; e < cells; e++)
    for (let j = cellEdges[e]!; j < cellEdges[e + 1]!; j++) {
      stamp[present[j]!] = gen;
      edge[present[j]!] = e;
    }
  const counts = new Int32Array(cells * NB);
  for (let e = 0; e < cells; e++) counts[e * NB + LAST] = cellEdges[e + 1]! - cellEdges[e]!;
  for (const sub of entrants) {
    const i = state.indexOf(sub);
    if (i === undefined || stamp[i] !== gen) continue;
    const b = band(sub);
    if (b === LAST) continue;
    const e = edge[i]!;
    counts[e * NB + b]!++;
    counts[e * NB + LAST]!--;
  }
  for (let x = 0; x < counts.length; x++) dwell[x % NB]! += atom(counts[x]!, k);
  return dwell;
}

/** Reused per-subscriber marks for {@link dwellFigures} (8 B a subscriber), told apart by a generation. */
let marks = { stamp: new Uint32Array(0), edge: new Int32Array(0), gen: 0 };
function scratch(n: number): { stamp: Uint32Array; edge: Int32Array; gen: number } {
  if (marks.stamp.length < n || marks.gen >= 0xfffffffe) {
    const size = Math.max(n, Math.ceil(marks.stamp.length * 1.5));
    marks = { stamp: new Uint32Array(size), edge: new Int32Array(size), gen: 0 };
  }
  marks.gen++;
  return marks;
}
