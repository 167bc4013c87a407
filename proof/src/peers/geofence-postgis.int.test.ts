/**
 * Alerting's point-in-region decisions against PostGIS (GEOS), an implementation that shares nothing
 * with ours: every (point, region) pair of hard geometry — Zhejiang's real district outlines (many
 * vertices, multipolygons), a polygon with holes, a comb-shaped concave polygon, circles, buffered
 * polylines and a buffered polygon — decided by both, with points drawn at random around each region
 * and, where mistakes hide, on and next to its vertices and edges.
 *
 * Polygons are compared exactly (`ST_Covers`: the boundary counts as inside, as ours does). Circles
 * and buffers are distances on a sphere; ours are haversine and an equirectangular approximation
 * documented as exact to well under a metre at city scale, so there a pair counts only when PostGIS
 * puts the point more than 1 m from the limit (the test reports how many pairs that band held).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRegion, type Region } from '@geo/alerting';
import { seededRandom } from '@geo/infra/basics';
import { loadAdminAreas } from '@geo/ingest';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../bench/peers/postgres.ts';

type Ring = [number, number][];
interface Case {
  id: number;
  name: string;
  region: Region;
  /** The same shape for PostGIS, as SQL over $1 (GeoJSON or WKT text) and the point `p`. */
  sql: { kind: 'covers'; geojson: string } | { kind: 'within'; geojson: string; metres: number };
  /** Points worth testing: vertices, and points next to them. */
  vertices: [number, number][];
}

const random = seededRandom(20261206);
const cases: Case[] = [];
let nextId = 0;
const add = (name: string, region: Region, sql: Case['sql'], vertices: [number, number][]) =>
  cases.push({ id: nextId++, name, region, sql, vertices });

const square = (x: number, y: number, d: number): Ring => [
  [x - d, y - d],
  [x + d, y - d],
  [x + d, y + d],
  [x - d, y + d],
  [x - d, y - d],
];

// Real district outlines: every third district of the province keeps the run short.
const districts = loadAdminAreas().filter((a) => a.level === 'district' && a.geometry);
for (const a of districts.filter((_, i) => i % 3 === 0)) {
  const g = a.geometry!;
  const part =
    g.type === 'Polygon'
      ? { kind: 'polygon' as const, rings: g.coordinates as Ring[] }
      : { kind: 'multipolygon' as const, polygons: g.coordinates as Ring[][] };
  const vertices = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates).flat(2) as [number, number][];
  add(`district ${a.name}`, { parts: [part], edgeBufferM: 0 }, { kind: 'covers', geojson: JSON.stringify(g) }, vertices);
}
// A polygon with two holes, one of them touching nothing, one near the outer edge.
{
  const rings = [square(120.2, 30.25, 0.05), square(120.19, 30.24, 0.02), square(120.235, 30.27, 0.012)];
  add(
    'square with two holes',
    { parts: [{ kind: 'polygon', rings }], edgeBufferM: 0 },
    { kind: 'covers', geojson: JSON.stringify({ type: 'Polygon', coordinates: rings }) },
    rings.flat(),
  );
}
// A comb: a concave polygon whose teeth make many edge crossings per scan line.
{
  const ring: Ring = [[120.0, 30.0]];
  for (let t = 0; t < 8; t++) {
    const x = 120.0 + t * 0.01;
    ring.push([x, 30.05], [x + 0.005, 30.05], [x + 0.005, 30.01]);
  }
  ring.push([120.08, 30.01], [120.08, 30.0], [120.0, 30.0]);
  add(
    'comb',
    { parts: [{ kind: 'polygon', rings: [ring] }], edgeBufferM: 0 },
    { kind: 'covers', geojson: JSON.stringify({ type: 'Polygon', coordinates: [ring] }) },
    ring,
  );
}
// Two circles (a 300 m one and a 5 km one).
for (const [c, r] of [
  [[120.155, 30.274], 300],
  [[120.6, 29.9], 5000],
] as [[number, number], number][]) {
  add(
    `circle ${r} m`,
    { parts: [{ kind: 'circle', center: c, radiusM: r }], edgeBufferM: 0 },
    { kind: 'within', geojson: JSON.stringify({ type: 'Point', coordinates: c }), metres: r },
    [c],
  );
}
// A buffered road (polyline, 200 m) with a bend, and a buffered polygon (edgeBufferM 500).
{
  const path: Ring = [
    [120.1, 30.2],
    [120.16, 30.23],
    [120.2, 30.21],
    [120.26, 30.28],
  ];
  add(
    'polyline buffered 200 m',
    { parts: [{ kind: 'polyline', path, bufferM: 200 }], edgeBufferM: 0 },
    { kind: 'within', geojson: JSON.stringify({ type: 'LineString', coordinates: path }), metres: 200 },
    path,
  );
  const rings = [square(120.4, 30.1, 0.03)];
  add(
    'square with a 500 m edge buffer',
    { parts: [{ kind: 'polygon', rings }], edgeBufferM: 500 },
    { kind: 'within', geojson: JSON.stringify({ type: 'Polygon', coordinates: rings }), metres: 500 },
    rings.flat(),
  );
}

/** Points for one case: uniform over its box grown by a tenth, its vertices exactly, and points within ~0.1–10 m of them. */
function pointsFor(c: Case, compiled: ReturnType<typeof compileRegion>): [number, number][] {
  const [w, s, e, n] = compiled.bbox;
  const gx = (e - w) * 0.1,
    gy = (n - s) * 0.1;
  const out: [number, number][] = [];
  for (let i = 0; i < 1500; i++) out.push([w - gx + random() * (e - w + 2 * gx), s - gy + random() * (n - s + 2 * gy)]);
  const step = Math.max(1, Math.floor(c.vertices.length / 300));
  for (let i = 0; i < c.vertices.length; i += step) {
    const [x, y] = c.vertices[i]!;
    out.push([x, y]);
    for (const d of [1e-6, 1e-5, 1e-4]) out.push([x + (random() - 0.5) * d, y + (random() - 0.5) * d]);
  }
  return out;
}

let server: ThrowawayPostgres;
let client: pg.Client;

beforeAll(async () => {
  server = await startThrowawayPostgres();
  client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
}, 120_000);

afterAll(async () => {
  await client?.end().catch(() => undefined);
  await server?.stop();
});

describe('alerting’s geofence against PostGIS (GEOS) on hard geometry', () => {
  it('decides every (point, region) pair as PostGIS does: polygons exactly, distances outside a 1 m band', async () => {
    await client.query('CREATE TABLE shapes (id int, kind text, geom geometry, metres float8)');
    await client.query('CREATE TABLE pts (id int, shape int, x float8, y float8, ours bool)');
    let total = 0;
    for (const c of cases) {
      const compiled = compileRegion(c.region);
      const pts = pointsFor(c, compiled);
      total += pts.length;
      await client.query('INSERT INTO shapes VALUES ($1, $2, ST_SetSRID(ST_GeomFromGeoJSON($3), 4326), $4)', [
        c.id,
        c.sql.kind,
        c.sql.geojson,
        c.sql.kind === 'within' ? c.sql.metres : null,
      ]);
      await client.query(
        'INSERT INTO pts SELECT i, $1, x, y, o FROM unnest($2::int[], $3::float8[], $4::float8[], $5::bool[]) AS t(i, x, y, o)',
        [c.id, pts.map((_, i) => i), pts.map((p) => p[0]), pts.map((p) => p[1]), pts.map(([x, y]) => compiled.contains(x, y))],
      );
    }
    const { rows } = await client.query<{
      shape: number;
      id: number;
      x: number;
      y: number;
      ours: boolean;
      theirs: boolean;
      off_m: number | null;
    }>(`
      SELECT p.shape, p.id, p.x, p.y, p.ours,
        CASE WHEN s.kind = 'covers' THEN ST_Covers(s.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
             ELSE ST_DWithin(s.geom::geography, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)::geography, s.metres, false) END AS theirs,
        CASE WHEN s.kind = 'within' THEN abs(ST_Distance(s.geom::geography, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)::geography, false) - s.metres) END AS off_m
      FROM pts p JOIN shapes s ON s.id = p.shape`);
    expect(rows.length).toBe(total);
    const band = rows.filter((r) => r.off_m !== null && r.off_m < 1);
    const disagree = rows.filter((r) => r.ours !== r.theirs && !(r.off_m !== null && r.off_m < 1));
    const inside = rows.filter((r) => r.theirs).length;
    console.log(
      `[postgis peer] ${cases.length} shapes, ${rows.length} pairs (${inside} inside per PostGIS), ${band.length} within 1 m of a distance limit, ${disagree.length} disagreements`,
    );
    // Both answers vary: the points really test edges (neither all-inside nor all-outside).
    expect(inside).toBeGreaterThan(rows.length / 10);
    expect(inside).toBeLessThan(rows.length * 0.9);
    expect(disagree.slice(0, 10).map((r) => `${cases[r.shape]!.name} (${r.x}, ${r.y}): ours ${r.ours}, PostGIS ${r.theirs}`)).toEqual([]);
  }, 120_000);
});
