import { createHash } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../../errors.ts';
import { operator } from '../../../http/context.ts';
import { drainingBodyLimit } from '../../../http/body-limit.ts';
import { opLog } from '../../../http/op-log.ts';
import { IdParam, jsonBody, jsonOk, router, z } from '../../../http/openapi.ts';
import { operatorOnly } from '../../../http/route-access.ts';
import { activeBoundaryVersion, areaTree, areasByCode } from '../geography.ts';
import { handle } from '../route-kit.ts';
import { activateVersion, addVersion, listVersions, versionAreas } from './store.ts';
import { parseBoundaryFile } from './validate-file.ts';
import { DEFAULT_PROVINCE } from '@geo/ingest';

const tags = ['行政区划边界'];

/** A province's districts in full detail are a few MB; a national file tens of MB. */
export const MAX_BOUNDARY_FILE_BYTES = 64 * 1024 * 1024;

const Version = z
  .object({
    id: z.number().int().openapi({ description: '版本号', example: 3 }),
    createdAt: z.string().openapi({ description: '加载时间（ISO 8601）' }),
    createdBy: z.string().openapi({ description: '加载人' }),
    fileName: z.string().openapi({ description: '文件名', example: 'zhejiang-2024.geojson' }),
    fileHash: z.string().openapi({ description: '文件的 SHA-256（十六进制）' }),
    added: z.array(z.string()).openapi({ description: '新增边界的区域代码（原来没有边界或没有该区域）', example: ['330114'] }),
    replaced: z.array(z.string()).openapi({ description: '替换边界的区域代码', example: ['330102'] }),
    areaCount: z.number().int().openapi({ description: '本版本在内置数据之上设定的区域数（含此前版本的）' }),
    active: z.boolean().openapi({ description: '是否为当前使用的版本' }),
    activatedAt: z.string().nullable().openapi({ description: '最近一次启用的时间' }),
    activatedBy: z.string().openapi({ description: '最近一次启用的人' }),
  })
  .openapi('BoundaryVersion');

const Listing = z
  .object({
    active: z.number().int().nullable().openapi({ description: '当前使用的版本号；null 为内置数据' }),
    versions: z.array(Version).openapi({ description: '加载过的边界版本，最新的在前' }),
    withoutBoundary: z
      .array(
        z.object({
          code: z.string().openapi({ description: '行政区划代码（GB/T 2260）', example: '330114' }),
          name: z.string().openapi({ description: '名称', example: '钱塘区' }),
        }),
      )
      .openapi({ description: '当前仍无边界的区域（选择器中标注“暂无边界”，不能单独作为发送区域）' }),
  })
  .openapi('BoundaryVersions');

const BoundaryFile = z
  .object({
    type: z
      .literal('FeatureCollection', { error: '文件须为 GeoJSON FeatureCollection' })
      .openapi({ description: '固定为 FeatureCollection（RFC 7946 GeoJSON）' }),
    features: z.array(z.unknown(), { error: 'features 须为数组' }).openapi({
      description:
        '各区域的边界：Polygon 或 MultiPolygon（WGS-84 经纬度），properties 含区划代码（adcode 或 code）与名称；逐个检查，有误时整份不加载并逐条说明',
    }),
  })
  .passthrough()
  .openapi('BoundaryFile', {
    description:
      'GeoJSON FeatureCollection，每个 Feature 的 properties.adcode（或 code）为六位 GB/T 2260 行政区划代码，name 为名称（新区域必填），level（province / city / district）与 parent 可省略（由代码推出）；geometry 为 Polygon 或 MultiPolygon，坐标为 WGS-84 / CGCS2000 [经度, 纬度]',
    example: {
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          properties: { adcode: 330114, name: '钱塘区', level: 'district', parent: { adcode: 330100 } },
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [120.33, 30.3],
                [120.35, 30.3],
                [120.35, 30.32],
                [120.33, 30.32],
                [120.33, 30.3],
              ],
            ],
          },
        },
      ],
    },
  });

const FileQuery = z.object({
  fileName: z.string().max(200).default('').openapi({ description: '文件名（记录用）', example: 'zhejiang-2024.geojson' }),
});

const versionId = (raw: string): number => {
  if (!/^\d{1,9}$/.test(raw)) throw new AppError('NOT_FOUND', '边界版本不存在');
  return Number(raw);
};

/**
 * 行政区划边界 (#21): the platform operator loads administrative boundaries from a GeoJSON file keyed
 * by GB/T 2260 code; each load is a version (who, when, what it added and redrew, the file's hash),
 * active at once, and any version (or the shipped data, id 0) can be put back. See README.md.
 */
export const boundaryRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/operator/boundaries',
      middleware: [operatorOnly],
      tags,
      summary: '行政区划边界的版本列表、当前版本与仍无边界的区域',
      responses: jsonOk(Listing),
    }),
    async (c) => {
      operator(c);
      const withoutBoundary = areaTree()
        .filter((a) => !a.hasBoundary)
        .map((a) => ({ code: a.code, name: a.name }));
      return c.json({ active: activeBoundaryVersion(), versions: await listVersions(c.get('deps').db), withoutBoundary }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/operator/boundaries',
      middleware: [
        operatorOnly,
        drainingBodyLimit({
          maxSize: MAX_BOUNDARY_FILE_BYTES,
          tooLarge: () =>
            new AppError('UPLOAD_TOO_LARGE', `边界文件过大（上限 ${MAX_BOUNDARY_FILE_BYTES / 1048576} MB）：请按省或市分成几个文件加载`),
        }),
      ],
      tags,
      summary: '加载行政区划边界文件（GeoJSON），新增或替换区域边界，成为新版本并立即启用；任一区域有误则整个文件不加载',
      request: { query: FileQuery, ...jsonBody(BoundaryFile) },
      responses: jsonOk(Version),
    }),
    async (c) => {
      const p = operator(c);
      const { db } = c.get('deps');
      const { fileName } = c.req.valid('query');
      const file = c.req.valid('json');
      const parsed = parseBoundaryFile(file, areasByCode(), DEFAULT_PROVINCE);
      if (!parsed.ok) {
        const shown = parsed.issues.slice(0, 20).map((i) => i.message);
        const more = parsed.issues.length > 20 ? `；另有 ${parsed.issues.length - 20} 处错误` : '';
        throw new AppError(
          'VALIDATION',
          `边界文件有 ${parsed.issues.length} 处错误，未加载任何区域：${shown.join('；')}${more}`,
          parsed.issues.map((i) => ({ path: i.index < 0 ? '' : `features.${i.index}`, message: i.message })),
        );
      }
      // The hash is of the bytes the operator sent (the JSON validator has read and kept them).
      const hash = createHash('sha256')
        .update(await c.req.text())
        .digest('hex');
      const v = await addVersion(db, { name: fileName, hash, areas: parsed.areas }, { accountId: p.accountId, name: p.name });
      await opLog(c, '加载行政区划边界', `版本 ${v.id}`, { fileName, fileHash: hash, added: v.added, replaced: v.replaced });
      return c.json(v, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/operator/boundaries/{id}/activate',
      middleware: [operatorOnly],
      tags,
      summary: '启用某个边界版本（回滚或恢复）；版本号 0 为内置数据',
      request: { params: IdParam },
      responses: jsonOk(z.object({ active: z.number().int().nullable().openapi({ description: '当前使用的版本号；null 为内置数据' }) })),
    }),
    async (c) => {
      const p = operator(c);
      const id = versionId(c.req.valid('param').id);
      if (!(await activateVersion(c.get('deps').db, id, { name: p.name }))) throw new AppError('NOT_FOUND', '边界版本不存在');
      await opLog(c, '启用行政区划边界版本', id === 0 ? '内置数据' : `版本 ${id}`);
      return c.json({ active: activeBoundaryVersion() }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/operator/boundaries/{id}/geojson',
      middleware: [operatorOnly],
      tags,
      summary: '下载某个边界版本设定的区域（GeoJSON），可交给预警服务的命令行（ADMIN_BOUNDARIES_FILE）',
      request: { params: IdParam },
      responses: { 200: { description: 'GeoJSON FeatureCollection', content: { 'application/geo+json': { schema: BoundaryFile } } } },
    }),
    handle(async (c) => {
      operator(c);
      const id = versionId(c.req.param('id') ?? '');
      const areas = await versionAreas(c.get('deps').db, id);
      if (!areas) throw new AppError('NOT_FOUND', '边界版本不存在');
      const features = areas.map(({ geometry, ...props }) => ({ type: 'Feature', properties: { adcode: props.code, ...props }, geometry }));
      return c.body(JSON.stringify({ type: 'FeatureCollection', features }), 200, {
        'content-type': 'application/geo+json',
        'content-disposition': `attachment; filename="boundaries-v${id}.geojson"`,
      });
    }),
  );
