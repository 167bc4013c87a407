import type { Polygon } from 'geojson';
import type { LocationEvent } from '@geo/ingest';
import { seededRandom } from '@geo/infra/basics';

/**
 * A known simulated population for the correctness test: a 12×12 grid of cells, two synthetic
 * cities (west: 330100, east: 330200) and a district (330106) inside the west one, and people who
 * walk between cells, report periodically, go silent or switch their phone off. Deterministic
 * (seeded), so a failure reproduces.
 */

export const GRID = 12;
export const LNG0 = 120.0;
export const LAT0 = 30.0;
export const STEP = 0.01;

export interface GridCell {
  name: string;
  x: number;
  y: number;
  lng: number;
  lat: number;
  city: number;
}

export const gridCell = (x: number, y: number): GridCell => ({
  name: `SIM-${x}-${y}`,
  x,
  y,
  lng: Number((LNG0 + x * STEP).toFixed(6)),
  lat: Number((LAT0 + y * STEP).toFixed(6)),
  city: x < 8 ? 330100 : 330200,
});

const rect = (w: number, s: number, e: number, n: number): Polygon => ({
  type: 'Polygon',
  coordinates: [
    [
      [w, s],
      [e, s],
      [e, n],
      [w, n],
      [w, s],
    ],
  ],
});

/** Synthetic administrative areas over the grid. */
export const SIM_AREAS = [
  { code: '330100', level: 'city', geometry: rect(LNG0 - 0.005, LAT0 - 0.005, LNG0 + 7.5 * STEP, LAT0 + 11.5 * STEP) },
  { code: '330200', level: 'city', geometry: rect(LNG0 + 7.5 * STEP, LAT0 - 0.005, LNG0 + 11.5 * STEP, LAT0 + 11.5 * STEP) },
  { code: '330106', level: 'district', geometry: rect(LNG0 + 1.5 * STEP, LAT0 + 1.5 * STEP, LNG0 + 5.5 * STEP, LAT0 + 5.5 * STEP) },
];

const HOMES = ['330106', '330102', '330105', '330203', '330206', '110101', '440305', '510104', '330106', '330102'];
const CARRIERS = ['cmcc', 'cucc', 'ctcc'] as const;

export interface Person {
  msisdn: string;
  events: LocationEvent[];
}

/** People over [start, end] (ms, whole seconds). */
export function simulate(n: number, start: number, end: number, seed = 7): Person[] {
  const rnd = seededRandom(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const people: Person[] = [];
  for (let p = 0; p < n; p++) {
    const msisdn = `139${String(10_000_000 + p).padStart(8, '0')}`;
    const carrier = pick(CARRIERS);
    const gender = rnd() < 0.1 ? undefined : rnd() < 0.5 ? 'm' : 'f';
    const age = rnd() < 0.1 ? undefined : 12 + Math.floor(rnd() * 70);
    const home = rnd() < 0.05 ? undefined : pick(HOMES);
    const homebody = rnd() < 0.25;
    // Most people stay near the middle of the grid, so that regions hold more than k people.
    let x = Math.min(GRID - 1, Math.max(0, Math.round(5.5 + (rnd() - 0.5) * 8)));
    let y = Math.min(GRID - 1, Math.max(0, Math.round(5.5 + (rnd() - 0.5) * 8)));
    const silentAt = rnd() < 0.12 ? start + rnd() * (end - start) : Infinity;
    let t = start + Math.floor(rnd() * 7200) * 1000;
    const events: LocationEvent[] = [];
    let off = false;
    while (t <= end && t < silentAt) {
      const moving = rnd() < (homebody ? 0.04 : 0.4);
      if (moving) {
        if (rnd() < 0.15) [x, y] = [Math.floor(rnd() * GRID), Math.floor(rnd() * GRID)];
        else {
          x = Math.min(GRID - 1, Math.max(0, x + Math.floor(rnd() * 3) - 1));
          y = Math.min(GRID - 1, Math.max(0, y + Math.floor(rnd() * 3) - 1));
        }
      }
      const c = gridCell(x, y);
      let kind: LocationEvent['kind'] = moving ? 'handover' : 'periodic';
      if (off) {
        kind = 'attach';
        off = false;
      } else if (rnd() < 0.03) {
        kind = 'detach';
        off = true;
      }
      events.push({
        msisdn,
        carrier,
        ts: t,
        cell: c.name,
        lat: c.lat,
        lng: c.lng,
        kind,
        ...(gender ? { gender } : {}),
        ...(age !== undefined ? { age } : {}),
        ...(home ? { home } : {}),
      } as LocationEvent);
      t += (off ? 60 + rnd() * 240 : 10 + rnd() * 50) * 60_000;
      t = Math.floor(t / 1000) * 1000;
    }
    people.push({ msisdn, events });
  }
  return people;
}

/** All events in time order (ties keep person order), as ingest would publish them. */
export function timeline(people: Person[]): LocationEvent[] {
  return people.flatMap((p) => p.events).sort((a, b) => a.ts - b.ts);
}
