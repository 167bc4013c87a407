import { createRoute } from '@hono/zod-openapi';
import { gunzipSync } from 'node:zlib';
import { AppError } from '../../errors.ts';
import { principal, type Ctx } from '../../http/context.ts';
import { jsonOk, router, z } from '../../http/openapi.ts';
import { requires } from '../../http/route-access.ts';
import { mapDirOf } from './map-dir.ts';
import { importedNamesNearPlaces, platformPlaces } from './places.ts';
import { MAX_TILE_ZOOM, TileStore } from './tile-store.ts';
import { TOWERS_LAYER, TOWERS_MIN_ZOOM, towersTile } from './towers.ts';

const tags = ['离线地图'];
/** Tiles change only with an import; the ETag (the import's time) tells a browser when. */
const TILE_CACHE = 'private, max-age=3600';

const stores = new Map<string, TileStore>();
function store(c: Ctx): TileStore {
  const dir = mapDirOf(c.get('deps').cfg);
  let s = stores.get(dir);
  if (!s) stores.set(dir, (s = new TileStore(dir)));
  return s;
}

/** The places' GeoJSON for one import (the names it holds decide which labels are the import's). */
const placesByImport = new Map<string, { importedAt: string; json: Promise<string> }>();
async function placesJson(c: Ctx): Promise<string> {
  const s = store(c);
  const m = await s.current();
  if (!m) return JSON.stringify(platformPlaces());
  let cached = placesByImport.get(s.dir);
  if (cached?.importedAt !== m.importedAt) {
    const json = importedNamesNearPlaces(s, m.maxzoom).then((names) => JSON.stringify(platformPlaces(names)));
    placesByImport.set(s.dir, (cached = { importedAt: m.importedAt, json }));
    json.catch(() => placesByImport.delete(s.dir));
  }
  return cached.json;
}

const Meta = z
  .object({
    detail: z
      .object({
        source: z.string().openapi({ description: '导入的文件名', example: 'zhejiang-latest.osm.pbf' }),
        importedAt: z.string().openapi({ description: '导入时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
        bounds: z
          .array(z.number())
          .length(4)
          .openapi({ description: '范围：西、南、东、北（经纬度）', example: [118, 27, 123, 31.2] }),
        minzoom: z.number().int().openapi({ description: '瓦片的最小缩放级别', example: 6 }),
        maxzoom: z.number().int().openapi({ description: '瓦片的最大缩放级别（更大的级别由此放大显示）', example: 14 }),
        layers: z
          .array(z.string())
          .openapi({ description: '瓦片中的图层', example: ['water', 'transportation', 'building', 'poi', 'place'] }),
        tiles: z.string().openapi({ description: '瓦片地址模板', example: '/api/map/tiles/{z}/{x}/{y}.pbf' }),
      })
      .nullable()
      .openapi({ description: '尚未导入时为 null，地图使用行政区轮廓底图' }),
  })
  .openapi('MapMeta');

const coord = (what: string) =>
  z
    .string()
    .regex(/^\d{1,7}$/, `${what}须为非负整数`)
    .transform(Number);
const TileParams = z
  .object({
    z: coord('缩放级别'),
    x: coord('瓦片列号'),
    tile: z
      .string()
      .regex(/^\d{1,7}\.pbf$/, '瓦片行号须为非负整数加 .pbf')
      .transform((s) => Number(s.slice(0, -4))),
  })
  .refine((p) => p.z <= MAX_TILE_ZOOM, `缩放级别最大为 ${MAX_TILE_ZOOM}`)
  .refine((p) => p.x < 2 ** p.z && p.tile < 2 ** p.z, '瓦片编号超出该缩放级别的范围');

export const mapRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/map/meta',
      tags,
      summary: '离线底图：是否已导入 OpenStreetMap 数据，及其范围、级别和图层',
      responses: jsonOk(Meta),
    }),
    async (c) => {
      principal(c);
      const m = await store(c).current();
      const detail = m && {
        source: m.source,
        importedAt: m.importedAt,
        bounds: m.bounds,
        minzoom: m.minzoom,
        maxzoom: m.maxzoom,
        layers: m.layers,
        tiles: '/api/map/tiles/{z}/{x}/{y}.pbf',
      };
      return c.json({ detail: detail ?? null }, 200, { 'cache-control': 'private, no-cache' });
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/map/tiles/{z}/{x}/{tile}',
      tags,
      summary: '离线底图的矢量瓦片（Mapbox Vector Tile，{y}.pbf）；该处无地物时 204',
      request: { params: TileParams.openapi({ example: { z: '14', x: '13661', tile: '6747.pbf' } } as never) },
      responses: {
        200: {
          description: '矢量瓦片；客户端接受 gzip 时以 Content-Encoding: gzip 发送',
          content: { 'application/x-protobuf': { schema: z.any() } },
        },
        204: { description: '该瓦片无地物' },
        304: { description: '未变（If-None-Match）' },
        404: { description: '尚未导入离线地图' },
      },
    }),
    async (c) => {
      principal(c);
      const { z: zoom, x, tile: y } = c.req.valid('param');
      const s = store(c);
      const m = await s.current();
      if (!m) throw new AppError('NOT_FOUND', '尚未导入离线地图（见 portal/README.md「Offline map」）');
      const etag = `W/"${Date.parse(m.importedAt).toString(36)}-${zoom}-${x}-${y}"`;
      const headers: Record<string, string> = { 'cache-control': TILE_CACHE, etag, vary: 'Accept-Encoding' };
      if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
      const t = await s.tile(zoom, x, y);
      if (!t) return c.body(null, 204, headers);
      headers['content-type'] = 'application/x-protobuf';
      const acceptsGzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
      if (t.gzip && acceptsGzip) headers['content-encoding'] = 'gzip';
      const body = t.gzip && !acceptsGzip ? gunzipSync(t.body) : t.body;
      return c.body(new Uint8Array(body), 200, headers);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/map/places',
      tags,
      summary: '平台自己的地名（景区、场馆），地图的地名图层用',
      description:
        '已导入的离线地图在 2 km 内有同名地名（如西湖的湖名）时，该点带 namedBy（导入数据中的图层名，如 water_name），地图只显示导入数据的那个名字，不重复标注。',
      responses: {
        200: {
          description: 'GeoJSON 点，每个带 id、name、kind（scenic 景区 / venue 场馆），及可能的 namedBy',
          content: {
            'application/geo+json': { schema: z.object({ type: z.literal('FeatureCollection'), features: z.array(z.unknown()) }) },
          },
        },
      },
    }),
    (async (c: Ctx) => {
      principal(c);
      return c.body(await placesJson(c), 200, {
        'content-type': 'application/geo+json',
        // The import decides which labels are whose: asked again after an import.
        'cache-control': 'private, no-cache',
      });
    }) as never,
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/map/towers/{z}/{x}/{tile}',
      tags,
      // Where the carriers' masts are is theirs, not base-map data: for the accounts whose work is
      // on the map (the big-data console and insight), not every industry-SMS account.
      middleware: [requires('bigdata.send', 'bigdata.tasks', 'bigdata.approve', 'insight')],
      summary: `平台已知的基站（各运营商的服务小区，按站址合并）的矢量瓦片，图层 ${TOWERS_LAYER}；缩放级别 ${TOWERS_MIN_ZOOM} 起才有`,
      description:
        '每个点：name（运营商，如「移动·联通」）、carriers（cmcc,cucc,ctcc）、cells（该站址的小区数）、cell（其中一个小区编号）。来自位置事件中见过的服务小区；无 ClickHouse 或该处无基站时 204。',
      request: { params: TileParams.openapi({ example: { z: '14', x: '13661', tile: '6747.pbf' } } as never) },
      responses: {
        200: { description: '矢量瓦片（未压缩）', content: { 'application/x-protobuf': { schema: z.any() } } },
        204: { description: '该瓦片无基站' },
        403: { description: '无大数据短信或大数据洞察权限' },
      },
    }),
    async (c) => {
      principal(c);
      const { z: zoom, x, tile: y } = c.req.valid('param');
      const ch = c.get('deps').ch;
      const headers = { 'cache-control': 'private, max-age=300' };
      const t = ch ? await towersTile(ch, zoom, x, y) : undefined;
      if (!t) return c.body(null, 204, headers);
      return c.body(t as Uint8Array<ArrayBuffer>, 200, { ...headers, 'content-type': 'application/x-protobuf' });
    },
  );
