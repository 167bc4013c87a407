import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../../portal.ts';
import {
  START_TIMEOUT,
  call,
  loginAdmin,
  loginOperator,
  loginSub,
  otherEnterprise,
  testPortal,
  type Client,
} from '../../../test/harness.ts';
import { withActiveBoundaries } from '../geography.ts';

/** 钱塘区 (下沙), which the shipped polygons predate: a square over its middle. */
const QIANTANG = {
  type: 'Polygon',
  coordinates: [
    [
      [120.34, 30.28],
      [120.4, 30.28],
      [120.4, 30.33],
      [120.34, 30.33],
      [120.34, 30.28],
    ],
  ],
};
const LINPING = { type: 'Polygon', coordinates: [QIANTANG.coordinates[0]!.map(([x, y]) => [x! - 0.06, y! + 0.12])] };
const file = (...features: unknown[]) => ({ type: 'FeatureCollection', features });
const feature = (properties: Record<string, unknown>, geometry: unknown) => ({ type: 'Feature', properties, geometry });

let portal: Portal;
let op: Client;
let admin: Client;

beforeAll(async () => {
  portal = await testPortal();
  op = await loginOperator(portal);
  admin = await loginAdmin(portal);
}, START_TIMEOUT);
afterAll(async () => {
  await op?.req('POST', '/api/operator/boundaries/0/activate');
  await portal?.stop();
});

/** The operator posting a file's exact bytes (the harness would encode a string as JSON). */
async function upload(body: string, query = '') {
  const res = await portal.request(`/api/operator/boundaries${query}`, {
    method: 'POST',
    body,
    headers: { cookie: op.cookie, 'x-csrf-token': op.csrf, 'content-type': 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as any };
}

const area = async (code: string) =>
  ((await admin.req('GET', '/api/bigdata/areas')).body.areas as { code: string; hasBoundary: boolean }[]).find((a) => a.code === code);
/** The reach estimate checks the region first (400 naming the area); past that, no NATS here: 503. */
const reachOnly = (code: string) => admin.req('POST', '/api/bigdata/reach', { region: { parts: [{ kind: 'admin', code }] } });

describe('administrative boundaries loaded from a file (#21), districts without one (#23)', () => {
  it('starts from the shipped data: 钱塘区, 临平区 and 龙港市 have no boundary, and a region of 钱塘区 alone is refused', async () => {
    const r = await op.req('GET', '/api/operator/boundaries');
    expect(r.status).toBe(200);
    expect(r.body.active).toBeNull();
    expect(r.body.versions).toEqual([]);
    expect(r.body.withoutBoundary.map((a: { name: string }) => a.name).sort()).toEqual(['临平区', '钱塘区', '龙港市'].sort());
    expect(await area('330114')).toMatchObject({ hasBoundary: false });
    const reach = await reachOnly('330114');
    expect(reach.status).toBe(400);
    expect(JSON.stringify(reach.body.error)).toContain('钱塘区该行政区域暂无边界数据');
  });

  it('refuses a file with bad features, naming each by index and code in Chinese, and applies none of it', async () => {
    const bowtie = {
      type: 'Polygon',
      coordinates: [
        [
          [120.3, 30.3],
          [120.32, 30.32],
          [120.32, 30.3],
          [120.3, 30.32],
          [120.3, 30.3],
        ],
      ],
    };
    const r = await op.req(
      'POST',
      '/api/operator/boundaries?fileName=bad.geojson',
      file(
        feature({ adcode: 330114, name: '钱塘区' }, QIANTANG),
        feature({ adcode: 330113 }, bowtie),
        feature({ adcode: 320102, name: '玄武区' }, QIANTANG),
      ),
    );
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('边界文件有 2 处错误，未加载任何区域');
    expect(r.body.error.details).toEqual([
      { path: 'features.1', message: expect.stringMatching(/^第 2 个区域（330113）：边界自相交/) },
      { path: 'features.2', message: expect.stringContaining('第 3 个区域（320102）：不属于本平台的省份') },
    ]);
    expect((await op.req('GET', '/api/operator/boundaries')).body.versions).toEqual([]);
    expect(await area('330114')).toMatchObject({ hasBoundary: false });
  });

  it.each([
    ['not JSON', '{"type": "FeatureCollection", "features": ['],
    ['no FeatureCollection', JSON.stringify({ type: 'Feature' })],
    ['an empty collection', JSON.stringify(file())],
  ])('answers %s with a readable 400', async (_what, body) => {
    const r = await upload(body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/[\u4e00-\u9fff]/);
  });

  let v1: number;
  it('loads a file that gives 钱塘区 a polygon as version 1 (who, when, added, hash): pickable, outlined, and a region of it passes', async () => {
    // The map's outlines are revalidated by the version in force, so a browser never keeps drawing old ones.
    const outlinesTag = async (tag?: string) => {
      const r = await fetch(`${portal.url}/api/bigdata/boundaries/district`, {
        headers: { cookie: admin.cookie, ...(tag ? { 'if-none-match': tag } : {}) },
      });
      await r.arrayBuffer();
      return { status: r.status, etag: r.headers.get('etag'), cache: r.headers.get('cache-control') };
    };
    const shipped = await outlinesTag();
    expect(shipped).toMatchObject({ status: 200, cache: 'private, no-cache' });
    expect((await outlinesTag(shipped.etag!)).status).toBe(304);
    const body = JSON.stringify(file(feature({ adcode: 330114, name: '钱塘区', level: 'district', parent: { adcode: 330100 } }, QIANTANG)));
    const r = await upload(body, '?fileName=qiantang.geojson');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      fileName: 'qiantang.geojson',
      fileHash: createHash('sha256').update(body).digest('hex'),
      added: ['330114'],
      replaced: [],
      areaCount: 1,
      active: true,
      createdBy: expect.stringMatching(/./),
    });
    v1 = r.body.id;
    expect(await area('330114')).toMatchObject({ hasBoundary: true });
    const outlines = await admin.req('GET', '/api/bigdata/boundaries/district');
    expect(JSON.stringify(outlines.body)).toContain('"330114"');
    const loaded = await outlinesTag(shipped.etag!);
    expect(loaded.status).toBe(200);
    expect(loaded.etag).not.toBe(shipped.etag);
    expect((await reachOnly('330114')).status).toBe(503); // past the region check: no alert bus in this test
    const list = await op.req('GET', '/api/operator/boundaries');
    expect(list.body.active).toBe(v1);
    expect(list.body.withoutBoundary.map((a: { code: string }) => a.code)).not.toContain('330114');
    // What the portal sends alerting: the geometry the operator loaded, and its version.
    const { region, boundaryVersion } = withActiveBoundaries({
      parts: [
        { kind: 'admin' as const, code: '330114' },
        { kind: 'admin' as const, code: '330106' },
      ],
    });
    expect(boundaryVersion).toBe(v1);
    expect(region.parts[0]).toEqual({ kind: 'admin', code: '330114', geometry: QIANTANG });
    expect(region.parts[1]).toEqual({ kind: 'admin', code: '330106' });
  });

  let v2: number;
  it('loads a second file over the first (临平区 added, 钱塘区 redrawn) and rolls back to version 1 and to the shipped data', async () => {
    const r = await op.req(
      'POST',
      '/api/operator/boundaries',
      file(feature({ adcode: 330113 }, LINPING), feature({ code: '330114' }, QIANTANG)),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ added: ['330113'], replaced: ['330114'], areaCount: 2, active: true });
    v2 = r.body.id;
    expect(await area('330113')).toMatchObject({ hasBoundary: true });

    expect((await op.req('POST', `/api/operator/boundaries/${v1}/activate`)).body).toEqual({ active: v1 });
    expect(await area('330113')).toMatchObject({ hasBoundary: false });
    expect(await area('330114')).toMatchObject({ hasBoundary: true });
    const list = (await op.req('GET', '/api/operator/boundaries')).body;
    expect(list.versions.map((v: { id: number; active: boolean }) => [v.id, v.active])).toEqual([
      [v2, false],
      [v1, true],
    ]);

    expect((await op.req('POST', '/api/operator/boundaries/0/activate')).body).toEqual({ active: null });
    expect(await area('330114')).toMatchObject({ hasBoundary: false });
    expect(withActiveBoundaries({ parts: [{ kind: 'admin' as const, code: '330114' }] }).boundaryVersion).toBeNull();

    expect((await op.req('POST', `/api/operator/boundaries/${v2}/activate`)).status).toBe(200);
    expect(await area('330113')).toMatchObject({ hasBoundary: true });
  });

  it('downloads a version as GeoJSON keyed by adcode (what alerting’s CLI reads)', async () => {
    const r = await op.req('GET', `/api/operator/boundaries/${v2}/geojson`);
    expect(r.status).toBe(200);
    const fc = typeof r.body === 'string' ? JSON.parse(r.body) : r.body;
    expect(fc.features.map((f: { properties: { adcode: string } }) => f.properties.adcode).sort()).toEqual(['330113', '330114']);
  });

  it('answers 404 for a version that does not exist', async () => {
    for (const id of ['999999', 'abc', '00000000-0000-4000-8000-000000000000'])
      expect((await op.req('POST', `/api/operator/boundaries/${id}/activate`)).status).toBe(404);
  });

  it('refuses enterprise accounts (admin, sub-account, another tenant) and callers without a session', async () => {
    const other = await otherEnterprise(portal, 'bnd');
    const sub = await loginSub(portal);
    const upload = file(feature({ adcode: 330114 }, QIANTANG));
    for (const who of [admin, sub, other.admin]) {
      expect((await who.req('GET', '/api/operator/boundaries')).status).toBe(403);
      expect((await who.req('POST', '/api/operator/boundaries', upload)).status).toBe(403);
      expect((await who.req('POST', `/api/operator/boundaries/${v1}/activate`)).status).toBe(403);
      expect((await who.req('GET', `/api/operator/boundaries/${v1}/geojson`)).status).toBe(403);
    }
    expect((await call(portal, 'POST', '/api/operator/boundaries', upload)).status).toBe(401);
    expect((await op.req('GET', '/api/operator/boundaries')).body.active).toBe(v2);
  });
});
