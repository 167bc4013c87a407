import Flatbush from 'flatbush';
import { bbox as turfBbox, booleanPointInPolygon } from '@turf/turf';
import type { AdminArea } from '../geography/admin-areas.ts';
import { ATTRACTIONS, VENUES, type Place } from './places.ts';
import { distanceKm, offsetKm, seededRandom } from './random.ts';

export const CELL_KIND = { core: 0, town: 1, rural: 2, place: 3 } as const;

/** Mobile network codes (MCC 460) per carrier, used in cell ids: `460-00-<site>-<sector>`. */
const MNC = ['00', '01', '11'] as const;

/**
 * A synthetic cell-site layout, one typed array per attribute keyed by a dense cell index. Sites
 * are shared by the three carriers (China Tower owns most masts), each carrier naming its own cell.
 */
export interface CellTable {
  readonly count: number;
  readonly lat: Float64Array;
  readonly lng: Float64Array;
  readonly kind: Uint8Array;
  /** Index into `districts`. */
  readonly district: Uint16Array;
  /** Index into `cities`. */
  readonly city: Uint16Array;
  readonly districts: readonly AdminArea[];
  readonly cities: readonly AdminArea[];
  /** `"cell":"…","lat":…,"lng":…` per carrier and cell, ready to splice into an event's JSON. */
  readonly json: readonly string[][];
  readonly ids: readonly string[][];
  /** The cell serving a point (nearest site), cached on a ~500 m grid. */
  nearest(lat: number, lng: number): number;
  /** Cells within `km` of a point. */
  within(lat: number, lng: number, km: number): number[];
}

export interface CellOptions {
  seed?: number;
  /** Spacing of sites at a city's centre, km. @default 0.35 */
  coreSpacingKm?: number;
  /** Spacing of countryside sites, km. @default 4 */
  ruralSpacingKm?: number;
  /**
   * Plain ids (`cell-<n>`) numbered by each carrier in its own order, so that one id names a
   * different cell (at another place) in each carrier's network, as nothing forbids: a consumer
   * that keys cells by id alone puts people in the wrong place (invariant 8). @default false
   * (ECGI-like ids that include the carrier's network code)
   */
  plainIds?: boolean;
}

/** Carrier k's plain id for cell i: carriers number the same sites in different orders. */
const plainId = (k: number, i: number, count: number): string =>
  `cell-${k === 0 ? i : k === 1 ? count - 1 - i : (i + (count >> 1)) % count}`;

const CORE_RADIUS_KM: Record<string, number> = { '330100': 12, '330200': 9, '330300': 8, '330900': 4 };

/**
 * Lays out sites: dense rings around each city's main urban district (a few hundred metres apart,
 * widening outwards), smaller clusters at each district or county seat, clusters at attractions
 * and venues, and a jittered countryside grid several km apart. Each site is kept only if it falls
 * inside a district polygon, which also gives its district and city.
 */
export function buildCells(areas: readonly AdminArea[], opts: CellOptions = {}): CellTable {
  const rnd = seededRandom(opts.seed ?? 1);
  const core = opts.coreSpacingKm ?? 0.35;
  const rural = opts.ruralSpacingKm ?? 4;
  const districts = areas.filter((a) => a.level === 'district' && a.geometry);
  const cities = areas.filter((a) => a.level === 'city');
  const cityIndex = new Map(cities.map((c, i) => [c.code, i]));
  const index = new Flatbush(districts.length);
  for (const d of districts) {
    const [x0, y0, x1, y1] = turfBbox(d.geometry!);
    index.add(x0, y0, x1, y1);
  }
  index.finish();
  const districtOf = (lat: number, lng: number): number => {
    for (const i of index.search(lng, lat, lng, lat)) {
      if (booleanPointInPolygon([lng, lat], districts[i].geometry!)) return i;
    }
    return -1;
  };

  const lat: number[] = [];
  const lng: number[] = [];
  const kind: number[] = [];
  const dist: number[] = [];
  const add = (la: number, ln: number, k: number) => {
    const d = districtOf(la, ln);
    if (d < 0) return;
    lat.push(la);
    lng.push(ln);
    kind.push(k);
    dist.push(d);
  };
  /** Rings around a centre: spacing grows linearly from `s0` at the centre to `s1` at `radius`. */
  const cluster = (c: { lat: number; lng: number }, radiusKm: number, s0: number, s1: number, k: number) => {
    add(c.lat, c.lng, k);
    for (let r = s0; r <= radiusKm;) {
      const s = s0 + (s1 - s0) * (r / radiusKm);
      const n = Math.max(6, Math.round((2 * Math.PI * r) / s));
      const phase = rnd() * 2 * Math.PI;
      for (let j = 0; j < n; j++) {
        const a = phase + (j / n) * 2 * Math.PI;
        const jr = r + (rnd() - 0.5) * s * 0.4;
        const [la, ln] = offsetKm(c.lat, c.lng, jr * Math.cos(a), jr * Math.sin(a));
        add(la, ln, k);
      }
      r += s;
    }
  };

  const seats: { lat: number; lng: number; r: number }[] = [];
  for (const city of cities) {
    const own = districts.filter((d) => d.parent === city.code && d.center).sort((a, b) => a.code.localeCompare(b.code));
    const main = own[0];
    if (!main) continue;
    const radius = CORE_RADIUS_KM[city.code] ?? 5;
    cluster({ lat: main.center![1], lng: main.center![0] }, radius, core, core * 2.5, CELL_KIND.core);
    seats.push({ lat: main.center![1], lng: main.center![0], r: radius });
    for (const d of own.slice(1)) {
      const c = { lat: d.center![1], lng: d.center![0] };
      if (distanceKm(c.lat, c.lng, main.center![1], main.center![0]) < radius) continue;
      cluster(c, 2.5, core * 1.6, core * 3, CELL_KIND.town);
      seats.push({ ...c, r: 2.5 });
    }
  }
  const places: readonly Place[] = [...ATTRACTIONS, ...VENUES];
  for (const p of places) cluster(p, p.radiusKm, 0.25, 0.4, CELL_KIND.place);

  const province = areas.find((a) => a.level === 'province');
  if (province?.geometry) {
    const [x0, y0, x1, y1] = turfBbox(province.geometry);
    const dLat = rural / 111.32;
    for (let y = y0; y <= y1; y += dLat) {
      const dLng = rural / (111.32 * Math.cos((y * Math.PI) / 180));
      for (let x = x0; x <= x1; x += dLng) {
        const la = y + (rnd() - 0.5) * dLat * 0.6;
        const ln = x + (rnd() - 0.5) * dLng * 0.6;
        if (seats.some((s) => distanceKm(la, ln, s.lat, s.lng) < s.r)) continue;
        add(la, ln, CELL_KIND.rural);
      }
    }
  }

  const count = lat.length;
  const table = {
    count,
    lat: Float64Array.from(lat),
    lng: Float64Array.from(lng),
    kind: Uint8Array.from(kind),
    district: Uint16Array.from(dist),
    city: Uint16Array.from(dist.map((d) => cityIndex.get(districts[d].parent!) ?? 0)),
    districts,
    cities,
  };
  const ids = MNC.map((mnc, k) =>
    Array.from({ length: count }, (_, i) => (opts.plainIds ? plainId(k, i, count) : `460-${mnc}-${100000 + (i >> 2)}-${(i & 3) + 1}`)),
  );
  const json = ids.map((carrierIds) =>
    carrierIds.map((id, i) => `"cell":"${id}","lat":${table.lat[i].toFixed(5)},"lng":${table.lng[i].toFixed(5)}`),
  );

  const sites = new Flatbush(count);
  for (let i = 0; i < count; i++) sites.add(table.lng[i], table.lat[i], table.lng[i], table.lat[i]);
  sites.finish();
  const [gx0, gy0, gx1, gy1] = province?.geometry
    ? turfBbox(province.geometry)
    : [Math.min(...lng), Math.min(...lat), Math.max(...lng), Math.max(...lat)];
  const STEP = 0.005; // ~500 m: below the spacing of any but the densest sites; a coarse cache is fine there.
  const cols = Math.ceil((gx1 - gx0) / STEP) + 1;
  const rows = Math.ceil((gy1 - gy0) / STEP) + 1;
  const grid = new Int32Array(cols * rows).fill(-1);
  const nearestExact = (la: number, ln: number) => sites.neighbors(ln, la, 1, Infinity, undefined)[0] ?? 0;
  return {
    ...table,
    ids,
    json,
    nearest(la, ln) {
      const cx = Math.floor((ln - gx0) / STEP);
      const cy = Math.floor((la - gy0) / STEP);
      if (cx < 0 || cy < 0 || cx >= cols || cy >= rows) return nearestExact(la, ln);
      const k = cy * cols + cx;
      let c = grid[k];
      if (c < 0) grid[k] = c = nearestExact(gy0 + (cy + 0.5) * STEP, gx0 + (cx + 0.5) * STEP);
      return c;
    },
    within(la, ln, km) {
      const dLat = km / 111.32;
      const dLng = km / (111.32 * Math.cos((la * Math.PI) / 180));
      return sites.search(ln - dLng, la - dLat, ln + dLng, la + dLat).filter((i) => distanceKm(la, ln, table.lat[i], table.lng[i]) <= km);
    },
  };
}
