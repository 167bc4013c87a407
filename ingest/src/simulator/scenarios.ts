import { ScenarioRequest, type ScenarioInfo, type ScenarioSpec } from '../contract.ts';
import type { CellTable } from './cells.ts';
import { ATTRACTIONS, findPlace } from './places.ts';
import type { Population } from './population.ts';
import { distanceKm, mix32, offsetKm, unit } from './random.ts';

const H = 3600;

/**
 * A running scenario: decides, per subscriber and simulated second, a cell to be in instead of the
 * day plan (or -1). Pure in (seed, subscriber, time), so it stores nothing per person.
 */
export interface ActiveScenario {
  readonly info: ScenarioInfo;
  /** Simulated seconds. */
  readonly startSec: number;
  readonly endSec: number;
  override(i: number, sec: number): number;
  /** Subscribers who should re-plan at once when the scenario starts (their next wake may be far). */
  members(): Iterable<number>;
}

function resolvePlace(p: string | { lat: number; lng: number }): { lat: number; lng: number } {
  if (typeof p !== 'string') return p;
  const place = findPlace(p);
  if (!place)
    throw new Error(
      `unknown place "${p}"; known: ${[...ATTRACTIONS].map((a) => a.id).join(', ')}, hangzhou-olympic, huanglong, wenling, cangnan, xiangshan`,
    );
  return place;
}

let counter = 0;

/** Turns a validated request into a running scenario, starting at simulated second `nowSec`. */
export function createScenario(request: ScenarioRequest, nowSec: number, cells: CellTable, pop: Population): ActiveScenario {
  const spec: ScenarioSpec = ScenarioRequest.parse(request);
  const id = `${spec.kind}-${nowSec}-${++counter}`;
  const salt = mix32(nowSec, counter, spec.kind.length);
  const r = (i: number, k: number) => unit(mix32(pop.seed ^ salt, i, k));
  const homeLat = (i: number) => cells.lat[pop.homeCell[i]];
  const homeLng = (i: number) => cells.lng[pop.homeCell[i]];
  const members: number[] = [];

  switch (spec.kind) {
    case 'typhoon': {
      const at = resolvePlace(spec.landfall);
      const start = nowSec + spec.startsInMin * 60;
      const end = start + spec.durationHours * H;
      // Inland is away from the sea: from the landfall point towards the province's centre of sites.
      let cx = 0,
        cy = 0;
      for (let c = 0; c < cells.count; c++) {
        cx += cells.lng[c];
        cy += cells.lat[c];
      }
      cx /= cells.count;
      cy /= cells.count;
      const [dx, dy] = [(cx - at.lng) * Math.cos((at.lat * Math.PI) / 180), cy - at.lat];
      const norm = Math.hypot(dx, dy) || 1;
      const east = (dx / norm) * spec.inlandKm;
      const north = (dy / norm) * spec.inlandKm;
      const shelter = new Int32Array(pop.size).fill(-1);
      for (let i = 0; i < pop.size; i++) {
        if (distanceKm(homeLat(i), homeLng(i), at.lat, at.lng) > spec.radiusKm || r(i, 1) >= spec.compliance) continue;
        const [la, ln] = offsetKm(homeLat(i), homeLng(i), east + (r(i, 2) - 0.5) * 20, north + (r(i, 3) - 0.5) * 20);
        shelter[i] = cells.nearest(la, ln);
        members.push(i);
      }
      return {
        info: { id, kind: 'typhoon', startsAt: start * 1000, endsAt: end * 1000, people: members.length },
        startSec: start,
        endSec: end,
        members: () => members,
        override(i, sec) {
          const s = shelter[i];
          if (s < 0 || sec >= end) return -1;
          return sec >= start + r(i, 4) * spec.rampHours * H ? s : -1;
        },
      };
    }
    case 'concert': {
      const venue = resolvePlace(spec.venue);
      const show = nowSec + spec.startsInMin * 60;
      const start = show - 2 * H;
      const end = show + spec.durationHours * H;
      const seats = cells.within(venue.lat, venue.lng, 0.8);
      if (!seats.length) seats.push(cells.nearest(venue.lat, venue.lng));
      const going = new Uint8Array(pop.size);
      for (let i = 0; i < pop.size; i++) {
        if (r(i, 1) < spec.share && distanceKm(homeLat(i), homeLng(i), venue.lat, venue.lng) < 40) {
          going[i] = 1;
          members.push(i);
        }
      }
      return {
        info: { id, kind: 'concert', startsAt: start * 1000, endsAt: end * 1000, people: members.length },
        startSec: start,
        endSec: end + H,
        members: () => members,
        override(i, sec) {
          if (!going[i]) return -1;
          const arrive = show - (0.25 + r(i, 2) * 1.75) * H;
          const leave = end + r(i, 3) * 0.75 * H;
          return sec >= arrive && sec < leave ? seats[Math.floor(r(i, 4) * seats.length)] : -1;
        },
      };
    }
    case 'holiday': {
      const area = resolvePlace(spec.area);
      const radius = typeof spec.area === 'string' ? (findPlace(spec.area)?.radiusKm ?? 2) : 2;
      const start = nowSec + spec.startsInMin * 60;
      const end = start + spec.days * 24 * H;
      const spots = cells.within(area.lat, area.lng, Math.max(radius, 0.5));
      if (!spots.length) spots.push(cells.nearest(area.lat, area.lng));
      // Each day a different share of the province goes; decided per (person, day) on the fly.
      for (let i = 0; i < pop.size; i++) if (r(i, 1) < spec.share * spec.days) members.push(i);
      return {
        info: { id, kind: 'holiday', startsAt: start * 1000, endsAt: end * 1000, people: members.length },
        startSec: start,
        endSec: end,
        members: () => members,
        override(i, sec) {
          if (sec < start || sec >= end) return -1;
          const day = Math.floor((sec - start) / (24 * H));
          if (unit(mix32(pop.seed ^ salt, i, 100 + day)) >= spec.share) return -1;
          const tod = (sec + 8 * H) % (24 * H);
          const arrive = 8.5 * H + r(i, 2 + day) * 4 * H;
          const leave = arrive + (2 + r(i, 20 + day) * 5) * H;
          return tod >= arrive && tod < Math.min(leave, 21 * H) ? spots[Math.floor(r(i, 40 + day) * spots.length)] : -1;
        },
      };
    }
  }
}
