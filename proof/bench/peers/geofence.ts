import * as turf from '@turf/turf';
import pg from 'pg';
import { compileRegion, RegionIndex, type Region } from '@geo/alerting';
import { loadAdminAreas } from '@geo/ingest';
import { startThrowawayPostgres } from './postgres.ts';

export interface GeoEvent {
  lng: number;
  lat: number;
  cell: string;
}

export interface BenchRegion {
  id: number;
  region: Region;
  /** For the peers: a polygon geometry, or a circle. */
  polygon?: GeoJSON.Polygon | GeoJSON.MultiPolygon;
  circle?: { center: [number, number]; radiusM: number };
}

/** The same regions for everyone: Zhejiang's district outlines (real, many vertices) and a circle around each city centre. */
export function benchRegions(): BenchRegion[] {
  const areas = loadAdminAreas();
  const out: BenchRegion[] = [];
  let id = 0;
  for (const a of areas) {
    if (a.level !== 'district' || !a.geometry) continue;
    const g = a.geometry;
    const part =
      g.type === 'Polygon'
        ? { kind: 'polygon' as const, rings: g.coordinates as [number, number][][] }
        : { kind: 'multipolygon' as const, polygons: g.coordinates as [number, number][][][] };
    out.push({ id: id++, region: { parts: [part], edgeBufferM: 0 }, polygon: g });
  }
  for (const a of areas) {
    if (a.level !== 'city' || !a.center) continue;
    const circle = { center: a.center, radiusM: 5000 };
    out.push({ id: id++, region: { parts: [{ kind: 'circle', center: circle.center, radiusM: circle.radiusM }], edgeBufferM: 0 }, circle });
  }
  return out;
}

export interface GeofenceResult {
  name: string;
  events: number;
  matches: number;
  ms: number;
  eventsPerS: number;
  note?: string;
}

const time = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
};

/** Ours, as alerting decides: a flatbush box index picks candidates, the exact compiled test decides. */
export function oursIndex(events: readonly GeoEvent[], regions: readonly BenchRegion[]): GeofenceResult {
  const index = new RegionIndex(regions.map((r) => ({ key: r.id, region: compileRegion(r.region) })));
  const [matches, ms] = time(() => {
    let n = 0;
    for (const e of events) n += index.matching(e.lng, e.lat).length;
    return n;
  });
  return { name: 'ours (alerting RegionIndex, every event)', events: events.length, matches, ms, eventsPerS: (events.length * 1000) / ms };
}

/** Ours as the engine runs it: the answer is computed once per serving cell and reused (events repeat cells). */
export function oursPerCell(events: readonly GeoEvent[], regions: readonly BenchRegion[]): GeofenceResult {
  const index = new RegionIndex(regions.map((r) => ({ key: r.id, region: compileRegion(r.region) })));
  const [matches, ms] = time(() => {
    const cache = new Map<string, number>();
    let n = 0;
    for (const e of events) {
      let k = cache.get(e.cell);
      if (k === undefined) cache.set(e.cell, (k = index.matching(e.lng, e.lat).length));
      n += k;
    }
    return n;
  });
  return {
    name: 'ours (alerting, per-cell cache as the engine)',
    events: events.length,
    matches,
    ms,
    eventsPerS: (events.length * 1000) / ms,
  };
}

/** The plain turf loop a developer would write: every event against every region. */
export function turfLoop(events: readonly GeoEvent[], regions: readonly BenchRegion[], budgetMs = 20_000): GeofenceResult {
  const polys = regions.filter((r) => r.polygon).map((r) => turf.feature(r.polygon!));
  const circles = regions.filter((r) => r.circle).map((r) => r.circle!);
  let n = 0;
  let done = 0;
  const t = performance.now();
  for (const e of events) {
    const p = turf.point([e.lng, e.lat]);
    for (const f of polys) if (turf.booleanPointInPolygon(p, f)) n++;
    for (const c of circles) if (turf.distance(p, c.center, { units: 'meters' }) <= c.radiusM) n++;
    done++;
    if ((done & 255) === 0 && performance.now() - t > budgetMs) break;
  }
  const ms = performance.now() - t;
  return {
    name: 'turf loop (booleanPointInPolygon / distance)',
    events: done,
    matches: n,
    ms,
    eventsPerS: (done * 1000) / ms,
    note: done < events.length ? `time-boxed: ${done} of ${events.length} events` : undefined,
  };
}

/**
 * PostGIS: the regions in a table with a GiST index; the events loaded with COPY and joined
 * (ST_Contains for polygons, ST_DWithin on geography for circles) — PostGIS at its best, in bulk —
 * and, as a streaming geofence would use it, one query per event.
 */
export async function postgis(
  events: readonly GeoEvent[],
  regions: readonly BenchRegion[],
  perEventSample = 2000,
): Promise<GeofenceResult[]> {
  const server = await startThrowawayPostgres();
  const client = new pg.Client({ connectionString: server.url });
  try {
    await client.connect();
    await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await client.query('CREATE TABLE regions (id int, geom geometry(MultiPolygon, 4326))');
    await client.query('CREATE TABLE circles (id int, center geography(Point, 4326), radius_m float8)');
    for (const r of regions) {
      if (r.polygon)
        await client.query('INSERT INTO regions VALUES ($1, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)))', [
          r.id,
          JSON.stringify(r.polygon),
        ]);
      else if (r.circle)
        await client.query('INSERT INTO circles VALUES ($1, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, $4)', [
          r.id,
          r.circle.center[0],
          r.circle.center[1],
          r.circle.radiusM,
        ]);
    }
    await client.query('CREATE INDEX ON regions USING gist (geom)');
    await client.query('CREATE INDEX ON circles USING gist (center)');
    await client.query('ANALYZE regions; ANALYZE circles');
    await client.query('CREATE UNLOGGED TABLE ev (id int, geom geometry(Point, 4326))');
    const tLoad = performance.now();
    const CHUNK = 5000;
    for (let i = 0; i < events.length; i += CHUNK) {
      const slice = events.slice(i, i + CHUNK);
      await client.query(
        'INSERT INTO ev SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM unnest($1::int[], $2::float8[], $3::float8[]) AS t(i, x, y)',
        [slice.map((_, k) => i + k), slice.map((e) => e.lng), slice.map((e) => e.lat)],
      );
    }
    const loadMs = performance.now() - tLoad;
    const tJoin = performance.now();
    const a = await client.query('SELECT count(*)::int AS n FROM ev JOIN regions r ON ST_Contains(r.geom, ev.geom)');
    const b = await client.query(
      'SELECT count(*)::int AS n FROM ev JOIN circles c ON ST_DWithin(c.center, ev.geom::geography, c.radius_m)',
    );
    const joinMs = performance.now() - tJoin;
    const bulkMatches = Number(a.rows[0].n) + Number(b.rows[0].n);
    const decide =
      'SELECT (SELECT count(*) FROM regions r WHERE ST_Contains(r.geom, p)) + (SELECT count(*) FROM circles c WHERE ST_DWithin(c.center, p::geography, c.radius_m)) AS n FROM (SELECT ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326) AS p) q';
    const sample = events.slice(0, perEventSample);
    const tOne = performance.now();
    let oneMatches = 0;
    for (const e of sample) oneMatches += Number((await client.query({ name: 'decide', text: decide, values: [e.lng, e.lat] })).rows[0].n);
    const oneMs = performance.now() - tOne;
    return [
      {
        name: 'PostGIS bulk join (GiST; load excluded)',
        events: events.length,
        matches: bulkMatches,
        ms: joinMs,
        eventsPerS: (events.length * 1000) / joinMs,
        note: `loading ${events.length} events took ${Math.round(loadMs)} ms more`,
      },
      {
        name: 'PostGIS bulk incl. load',
        events: events.length,
        matches: bulkMatches,
        ms: joinMs + loadMs,
        eventsPerS: (events.length * 1000) / (joinMs + loadMs),
      },
      {
        name: 'PostGIS one query per event (prepared)',
        events: sample.length,
        matches: oneMatches,
        ms: oneMs,
        eventsPerS: (sample.length * 1000) / oneMs,
      },
    ];
  } finally {
    await client.end().catch(() => undefined);
    await server.stop();
  }
}
