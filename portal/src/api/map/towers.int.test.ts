import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { START_TIMEOUT, loginAdmin, loginSub, testPortal } from '../../test/harness.ts';
import { readPoints, toTilePixel, EXTENT } from './mvt.ts';
import { emptyDatabase, TEST_TOWERS, writeTestTowers } from './test-towers.ts';

function tileAt(lng: number, lat: number, z: number): [number, number, number] {
  const [px, py] = toTilePixel(lng, lat, z, 0, 0);
  return [z, Math.floor(px / EXTENT), Math.floor(py / EXTENT)];
}

/**
 * Issue 23, "the place names the platform knows (scenic spots, stations, towers) as a label layer":
 * the towers are the serving cells insight has seen, one point per mast with its carriers, served
 * as vector tiles from zoom 12.
 */
describe('the towers layer over HTTP', () => {
  let portal: Portal;
  let bare: Portal;
  let cookie: string;
  const get = (p: Portal, path: string, c = cookie) => fetch(`${p.url}${path}`, { headers: { cookie: c } });
  const towersTile = (p: Portal, [z, x, y]: [number, number, number], c = cookie) => get(p, `/api/map/towers/${z}/${x}/${y}.pbf`, c);

  beforeAll(async () => {
    [portal, bare] = await Promise.all([
      testPortal({ clickhouseUrl: await writeTestTowers(inject('clickhouseUrl')) }),
      testPortal({ clickhouseUrl: await emptyDatabase(inject('clickhouseUrl')) }),
    ]);
    cookie = (await loginAdmin(portal)).cookie;
  }, START_TIMEOUT);

  afterAll(async () => {
    await portal?.stop();
    await bare?.stop();
  });

  it('serves one point per mast, with its carriers and cells, at zoom 14', async () => {
    const at = tileAt(TEST_TOWERS[0].lng, TEST_TOWERS[0].lat, 14);
    const r = await towersTile(portal, at);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-protobuf');
    const points = readPoints(new Uint8Array(await r.arrayBuffer()), new Set(['towers']), ...at);
    expect(points.map((p) => p.properties).sort((a, b) => Number(b.cells) - Number(a.cells))).toEqual([
      { name: '移动·联通·电信', carriers: 'cmcc,cucc,ctcc', cells: 3, cell: '460-00-100001-1' },
      { name: '移动', carriers: 'cmcc', cells: 1, cell: '460-00-100002-2' },
    ]);
    const mast = points.find((p) => p.properties.cells === 3)!;
    expect(mast.lng).toBeCloseTo(TEST_TOWERS[0].lng, 4);
    expect(mast.lat).toBeCloseTo(TEST_TOWERS[0].lat, 4);
  });

  it('has nothing below zoom 12, nothing where there is no tower, nothing before insight made its tables', async () => {
    expect((await towersTile(portal, tileAt(TEST_TOWERS[0].lng, TEST_TOWERS[0].lat, 11))).status).toBe(204);
    expect((await towersTile(portal, tileAt(121.5, 29.9, 14))).status).toBe(204);
    const bareCookie = (await loginAdmin(bare)).cookie;
    expect((await towersTile(bare, tileAt(TEST_TOWERS[0].lng, TEST_TOWERS[0].lat, 14), bareCookie)).status).toBe(204);
  });

  it('refuses bad coordinates with 400, strangers with 401 and accounts without big-data or insight rights with 403', async () => {
    for (const path of ['14/13661/-1.pbf', '23/1/1.pbf', '14/16384/1.pbf', '14/13661/..%2Fx.pbf']) {
      const r = await get(portal, `/api/map/towers/${path}`);
      expect([400, 404], path).toContain(r.status);
    }
    const at = tileAt(TEST_TOWERS[0].lng, TEST_TOWERS[0].lat, 14);
    expect((await towersTile(portal, at, '')).status).toBe(401);
    // The demo sub-account sends industry SMS only: the masts are not its business.
    expect((await towersTile(portal, at, (await loginSub(portal)).cookie)).status).toBe(403);
  });
});
