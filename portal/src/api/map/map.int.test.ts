import { execFile } from 'node:child_process';
import { get } from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { START_TIMEOUT, loginAdmin, loginOperator, loginSub, testPortal } from '../../test/harness.ts';
import { TEST_LAKE_POINT, TEST_STATION, writeTestExtract } from '../../map-import/test-extract.ts';

const CLI = fileURLToPath(new URL('../../map-import/main.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../../../node_modules/.bin/tsx', import.meta.url));

/** The web-mercator tile holding a point. */
function tileAt(lng: number, lat: number, z: number): [number, number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [z, Math.floor(((lng + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

/** Just enough of a Mapbox Vector Tile reader: each layer's name, feature count and string values. */
function mvtLayers(buf: Buffer): Map<string, { features: number; values: string[] }> {
  let i = 0;
  const varint = (b: Buffer) => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = b[i++]!;
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
      shift += 7;
    }
  };
  const fields = (b: Buffer) => {
    const out: { tag: number; bytes?: Buffer }[] = [];
    const saved = i;
    i = 0;
    while (i < b.length) {
      const key = varint(b);
      const [tag, wire] = [key >> 3, key & 7];
      if (wire === 2) {
        const len = varint(b);
        out.push({ tag, bytes: b.subarray(i, i + len) });
        i += len;
      } else if (wire === 0) {
        varint(b);
        out.push({ tag });
      } else if (wire === 5) i += 4;
      else if (wire === 1) i += 8;
      else throw new Error(`wire type ${wire}`);
    }
    i = saved;
    return out;
  };
  const layers = new Map<string, { features: number; values: string[] }>();
  for (const f of fields(buf).filter((f) => f.tag === 3)) {
    const parts = fields(f.bytes!);
    const name = parts.find((p) => p.tag === 1)!.bytes!.toString('utf8');
    const values = parts
      .filter((p) => p.tag === 4)
      .flatMap((p) => fields(p.bytes!).filter((v) => v.tag === 1))
      .map((v) => v.bytes!.toString('utf8'));
    layers.set(name, { features: parts.filter((p) => p.tag === 2).length, values });
  }
  return layers;
}

/** A plain HTTP GET that leaves the body as sent (fetch would undo the gzip). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, [CLI, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('offline map: import an OpenStreetMap extract, serve its tiles', () => {
  let portal: Portal;
  let dir: string;
  let mapDir: string;
  let cookie: string;
  const tile = async (z: number, x: number, y: number | string, headers: Record<string, string> = {}) =>
    rawGet(`${portal.url}/api/map/tiles/${z}/${x}/${y}${String(y).includes('.') ? '' : '.pbf'}`, { cookie, ...headers });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'geo-map-'));
    mapDir = join(dir, 'map');
    portal = await testPortal({ mapDir });
    cookie = (await loginAdmin(portal)).cookie;
  }, START_TIMEOUT);

  afterAll(async () => {
    await portal?.stop();
  });

  it('before any import, says there is no detail (the map keeps its outlines) and has no tiles', async () => {
    const meta = await fetch(`${portal.url}/api/map/meta`, { headers: { cookie } });
    expect(meta.status).toBe(200);
    expect(await meta.json()).toEqual({ detail: null });
    const r = await tile(...tileAt(TEST_LAKE_POINT.lng, TEST_LAKE_POINT.lat, 14));
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body.toString()).error.message).toContain('尚未导入离线地图');
    const places = (await (await fetch(`${portal.url}/api/map/places`, { headers: { cookie } })).json()) as {
      features: { properties: Record<string, string> }[];
    };
    expect(places.features.filter((f) => f.properties.namedBy)).toEqual([]);
  });

  it('refuses a file that is not an OSM PBF with a clear message, not a stack trace', async () => {
    const xml = join(dir, 'lake.osm');
    await writeFile(xml, '<?xml version="1.0"?><osm version="0.6"></osm>');
    const junk = join(dir, 'junk.osm.pbf');
    await writeFile(junk, Buffer.alloc(4096, 7));
    for (const [file, says] of [
      [xml, '这是 OSM XML 文件，请先转换'],
      [junk, '不是 OpenStreetMap PBF 文件'],
      [join(dir, 'missing.osm.pbf'), '找不到文件'],
    ] as const) {
      const r = await cli(file, '--out', mapDir);
      expect(r.code, file).toBe(1);
      expect(r.stderr).toContain(`导入失败：`);
      expect(r.stderr).toContain(says);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 60_000);

  it('imports a small extract written by the test, and the running portal serves it at once', async () => {
    const pbf = await writeTestExtract(dir);
    const r = await cli(pbf, '--out', mapDir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('写入');
    const meta = (await (await fetch(`${portal.url}/api/map/meta`, { headers: { cookie } })).json()) as { detail: any };
    expect(meta.detail).toMatchObject({ source: 'west-lake.osm.pbf', minzoom: 6, maxzoom: 14, tiles: '/api/map/tiles/{z}/{x}/{y}.pbf' });
    expect(meta.detail.layers).toEqual(expect.arrayContaining(['water', 'water_name', 'transportation', 'building', 'poi', 'place']));
    expect(meta.detail.bounds[0]).toBeCloseTo(120.12, 5);
  }, 60_000);

  it('serves a tile gzip-encoded to a client that accepts gzip: West Lake in the water layer, roads by class', async () => {
    const r = await tile(...tileAt(TEST_LAKE_POINT.lng, TEST_LAKE_POINT.lat, 14), { 'accept-encoding': 'gzip, deflate' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-protobuf');
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.headers['cache-control']).toBe('private, max-age=3600');
    const layers = mvtLayers(gunzipSync(r.body));
    expect(layers.get('water')?.features).toBe(1);
    expect(layers.get('water')?.values).toContain('lake');
  });

  it('serves the same tile plain to a client that does not accept gzip', async () => {
    const r = await tile(...tileAt(TEST_LAKE_POINT.lng, TEST_LAKE_POINT.lat, 14), { 'accept-encoding': 'identity' });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.body[0]).not.toBe(0x1f);
    expect(mvtLayers(r.body).get('water')?.features).toBe(1);
  });

  it('has the station with its Chinese name, the railway, streets and buildings at zoom 14', async () => {
    const r = await tile(...tileAt(TEST_STATION.lng, TEST_STATION.lat, 14), { 'accept-encoding': 'gzip' });
    const layers = mvtLayers(gunzipSync(r.body));
    expect(layers.get('poi')?.values).toEqual(expect.arrayContaining(['railway', TEST_STATION.name]));
    expect(layers.get('transportation')?.values).toEqual(expect.arrayContaining(['rail', 'minor', '清泰街']));
    expect(layers.get('building')?.features).toBeGreaterThan(0);
    // Buildings are for the high zooms only.
    const low = await tile(...tileAt(TEST_STATION.lng, TEST_STATION.lat, 12), { 'accept-encoding': 'gzip' });
    expect(mvtLayers(gunzipSync(low.body)).has('building')).toBe(false);
  });

  it('answers 204 for an empty tile and 304 for a tile the browser already has', async () => {
    const empty = await tile(14, 0, 0);
    expect(empty.status).toBe(204);
    expect(empty.body.length).toBe(0);
    const at = tileAt(TEST_LAKE_POINT.lng, TEST_LAKE_POINT.lat, 13);
    const first = await tile(...at);
    expect(first.headers.etag).toBeTruthy();
    const again = await tile(...at, { 'if-none-match': String(first.headers.etag) });
    expect(again.status).toBe(304);
  });

  it('never reads outside the tiles: traversal and out-of-range coordinates are 400 or 404, never a file', async () => {
    for (const path of [
      '14/13661/..%2F..%2Fimport.json',
      '14/13661/..%2Fmetadata.json',
      '14/..%2F..%2Ftiles/6747.pbf',
      '..%2F..%2F..%2Fetc/1/1.pbf',
      '14/13661/6747.pbf%00.json',
      '14/13661/-1.pbf',
      '14/16384/1.pbf',
      '23/1/1.pbf',
      '14/13661/6747.json',
    ]) {
      const r = await rawGet(`${portal.url}/api/map/tiles/${path}`, { cookie });
      expect([400, 404], path).toContain(r.status);
      expect(r.body.toString(), path).not.toContain('minzoom');
    }
    const r = await rawGet(`${portal.url}/api/map/tiles/14/13661/..%2F..%2Fimport.json`, { cookie });
    expect(JSON.parse(r.body.toString()).error.message).toMatch(/瓦片行号/);
  });

  it('any logged-in user may read the tiles and places, whatever their tenant; nobody else', async () => {
    const at = tileAt(TEST_LAKE_POINT.lng, TEST_LAKE_POINT.lat, 14);
    expect((await tile(...at, { cookie: '' })).status).toBe(401);
    expect((await rawGet(`${portal.url}/api/map/meta`, {})).status).toBe(401);
    expect((await rawGet(`${portal.url}/api/map/places`, {})).status).toBe(401);
    for (const who of [await loginSub(portal), await loginOperator(portal)]) {
      expect((await tile(...at, { cookie: who.cookie })).status).toBe(200);
      const places = await fetch(`${portal.url}/api/map/places`, { headers: { cookie: who.cookie } });
      expect(places.status).toBe(200);
      const fc = (await places.json()) as { features: { properties: { name: string; kind: string } }[] };
      expect(fc.features.map((f) => f.properties.name)).toEqual(expect.arrayContaining(['西湖', '灵隐寺', '杭州奥体中心体育场']));
    }
  });

  it('marks the platform places the import names nearby, so the map labels West Lake once', async () => {
    const fc = (await (await fetch(`${portal.url}/api/map/places`, { headers: { cookie } })).json()) as {
      features: { properties: { name: string; namedBy?: string } }[];
    };
    const named = (n: string) => fc.features.find((f) => f.properties.name === n)!.properties.namedBy;
    expect(named('西湖')).toBe('water_name');
    expect(named('灵隐寺')).toBeUndefined();
  });
});
