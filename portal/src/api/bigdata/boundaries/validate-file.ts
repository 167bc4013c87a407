import { AreaGeometry, findSelfIntersection, regionIssues, type RegionIssueReason } from '@geo/alerting';
import type { AdminArea } from '@geo/ingest';
import { pointOnFeature } from '@turf/turf';
import { GB_2260, levelOfCode, parentOfCode } from './admin-codes.ts';

/** One bad feature of an uploaded file: its place in `features`, its code when it has one, why. */
export interface FeatureIssue {
  index: number;
  code: string | null;
  message: string;
}

export type ParsedBoundaryFile = { ok: true; areas: AdminArea[] } | { ok: false; issues: FeatureIssue[] };

/** The most features one file may hold: a province has ~100 areas, the whole country ~3,200. */
export const MAX_FEATURES = 5_000;

const LEVEL_WORDS = { province: '省级', city: '地级', district: '县级' } as const;

/** Chinese reasons for the region validator's stable codes, as they apply to a boundary. */
const REASONS: Partial<Record<RegionIssueReason, string>> = {
  empty: '几何为空（没有多边形或环）',
  too_few_vertices: '有环的顶点少于 3 个',
  too_many_vertices: '顶点过多（每个区域最多 500000 个）',
  out_of_range: '有坐标不是有效的 [经度, 纬度]',
  crosses_antimeridian: '有边跨越 180° 经线',
  zero_area: '有环的面积为零',
  hole_outside: '有洞（内环）在外环之外',
};

const codeOf = (props: Record<string, unknown>): string | null => {
  const v = props.adcode ?? props.code;
  return typeof v === 'number' || typeof v === 'string' ? String(v).trim() : null;
};

/** `parent` as DataV writes it (`{ adcode: 330100 }`) or as a bare code. */
const parentCodeOf = (v: unknown): string | null => {
  if (v && typeof v === 'object' && 'adcode' in v) v = (v as { adcode: unknown }).adcode;
  return typeof v === 'number' || typeof v === 'string' ? String(v).trim() : null;
};

/** A point inside the area for its label (DataV files carry `center`; others get one). */
const labelPoint = (g: AreaGeometry): [number, number] => {
  const [x, y] = pointOnFeature({ type: 'Feature', properties: {}, geometry: g }).geometry.coordinates;
  return [Math.round(x! * 1e4) / 1e4, Math.round(y! * 1e4) / 1e4];
};

/** Drops a third coordinate (height), which GeoJSON allows and the region test does not use. */
function flat(g: unknown): unknown {
  const drop = (x: unknown): unknown =>
    Array.isArray(x) && x.length > 2 && x.every((n) => typeof n === 'number') ? x.slice(0, 2) : Array.isArray(x) ? x.map(drop) : x;
  if (!g || typeof g !== 'object') return g;
  const { coordinates } = g as { coordinates?: unknown };
  return { ...g, coordinates: drop(coordinates) };
}

/** Where the geometry first fails the exact region test's rules, in words; undefined when it passes. */
function geometryProblem(code: string, g: AreaGeometry): string | undefined {
  // Checked as a task's own admin boundary is (alerting's validator): closed rings, coordinates in
  // range, no crossing or touching edges, holes inside, vertex limit.
  const issue = regionIssues({ parts: [{ kind: 'admin', code, geometry: g }] })[0];
  if (!issue) return undefined;
  if (issue.reason !== 'self_intersection') return REASONS[issue.reason] ?? issue.message;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const [i, rings] of polys.entries()) {
    const x = findSelfIntersection(rings);
    if (!x) continue;
    const ring = (r: number) => (r === 0 ? '外环' : `第 ${r} 个洞`);
    const part = polys.length > 1 ? `第 ${i + 1} 个多边形` : '';
    return `边界自相交：${part}${ring(x.ring)}的第 ${x.edge + 1} 条边与${ring(x.otherRing)}的第 ${x.otherEdge + 1} 条边相交或相接，约在 [${x.at[0]}, ${x.at[1]}]`;
  }
  return '边界自相交';
}

/**
 * Reads an uploaded GeoJSON FeatureCollection of administrative boundaries keyed by GB/T 2260 code
 * (`properties.adcode`, as the national map service and DataV publish them, or `code`), each
 * feature checked on its own: the code (six digits, of the platform's province), the level (given
 * or from the code), the parent (from the code; it must exist in the file or the current data), the
 * name (given, or the current one), and the geometry by the region validator's rules. Every bad
 * feature is named with its index and code; one bad feature refuses the file.
 *
 * @param known the areas in force now (shipped data with the active version over it), by code
 * @param province two digits, e.g. `33`
 */
export function parseBoundaryFile(file: unknown, known: ReadonlyMap<string, AdminArea>, province: string): ParsedBoundaryFile {
  const fc = file as { type?: unknown; features?: unknown };
  if (!fc || typeof fc !== 'object' || fc.type !== 'FeatureCollection' || !Array.isArray(fc.features))
    return { ok: false, issues: [{ index: -1, code: null, message: '文件须为 GeoJSON FeatureCollection（含 features 数组）' }] };
  if (fc.features.length === 0) return { ok: false, issues: [{ index: -1, code: null, message: '文件中没有任何区域（features 为空）' }] };
  if (fc.features.length > MAX_FEATURES)
    return {
      ok: false,
      issues: [{ index: -1, code: null, message: `一个文件最多 ${MAX_FEATURES} 个区域，本文件有 ${fc.features.length} 个` }],
    };

  const issues: FeatureIssue[] = [];
  const areas: AdminArea[] = [];
  const seen = new Map<string, number>();
  const inFile = new Set<string>();
  for (const f of fc.features as unknown[]) {
    const p = (f as { properties?: unknown })?.properties;
    const c = p && typeof p === 'object' ? codeOf(p as Record<string, unknown>) : null;
    if (c && GB_2260.test(c)) inFile.add(c);
  }

  (fc.features as unknown[]).forEach((raw, index) => {
    const bad = (code: string | null, message: string) =>
      issues.push({ index, code, message: `第 ${index + 1} 个区域${code ? `（${code}）` : ''}：${message}` });
    const f = raw as { type?: unknown; properties?: unknown; geometry?: unknown };
    if (!f || typeof f !== 'object' || f.type !== 'Feature') return bad(null, '不是 GeoJSON Feature');
    const props = (f.properties && typeof f.properties === 'object' ? f.properties : {}) as Record<string, unknown>;
    const code = codeOf(props);
    if (!code) return bad(null, '缺少行政区划代码（properties.adcode 或 properties.code）');
    if (!GB_2260.test(code)) return bad(code, `代码“${code}”不是六位 GB/T 2260 行政区划代码`);
    if (code.slice(0, 2) !== province.slice(0, 2)) return bad(code, `不属于本平台的省份（代码须以 ${province.slice(0, 2)} 开头）`);
    const prev = seen.get(code);
    if (prev !== undefined) return bad(code, `与第 ${prev + 1} 个区域的代码重复`);
    seen.set(code, index);

    const level = levelOfCode(code);
    if (props.level !== undefined && props.level !== level)
      return bad(code, `级别“${String(props.level)}”与代码不符（代码 ${code} 是${LEVEL_WORDS[level]}区域：${level}）`);
    const parent = parentOfCode(code);
    const givenParent = props.parent === undefined || props.parent === null ? null : parentCodeOf(props.parent);
    if (givenParent !== null && givenParent !== parent) return bad(code, `上级“${givenParent}”与代码不符（应为 ${parent ?? '无'}）`);
    if (parent && !known.has(parent) && !inFile.has(parent)) return bad(code, `上级区域 ${parent} 不存在`);

    const current = known.get(code);
    const name = typeof props.name === 'string' ? props.name.trim() : '';
    if (!name && !current) return bad(code, '新区域须有名称（properties.name）');
    if (name.length > 50) return bad(code, '名称最长 50 字');

    const g = AreaGeometry.safeParse(flat(f.geometry));
    if (!g.success) return bad(code, '几何须为 GeoJSON Polygon 或 MultiPolygon，坐标为 [经度, 纬度] 数组');
    const problem = geometryProblem(code, g.data);
    if (problem) return bad(code, problem);

    const center = Array.isArray(props.center) && props.center.length === 2 && props.center.every((x) => typeof x === 'number');
    areas.push({
      code,
      name: name || current!.name,
      level,
      parent,
      center: center ? (props.center as [number, number]) : labelPoint(g.data),
      geometry: g.data,
    });
  });
  return issues.length ? { ok: false, issues } : { ok: true, areas };
}
