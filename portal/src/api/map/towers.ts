import { CARRIERS } from '@geo/ingest';
import { selectRows, sql, type ClickHouseClient } from '@geo/infra';
import { encodePointTile, tileBounds, type TilePoint } from './mvt.ts';

/** Towers are drawn from this zoom on (a district's few thousand dots); lower tiles are empty. */
export const TOWERS_MIN_ZOOM = 12;
/** The most towers one tile carries: a city centre's z12 tile holds ~1,500 sites. */
export const TOWERS_PER_TILE = 20_000;
/** The tile's layer name. */
export const TOWERS_LAYER = 'towers';

const CARRIER_NAMES: Record<string, string> = { cmcc: '移动', cucc: '联通', ctcc: '电信' };

interface SiteRow {
  la: number;
  lo: number;
  ks: number[];
  n: number;
  first: string;
}

/**
 * The towers (base-station sites) the platform knows in one tile: the serving cells insight has
 * seen in location events (`insight_cells`, insight's table, read only, as alerting's what-if reads
 * it), grouped by position, since one mast carries the cells of several carriers. Each point says
 * which carriers (`carriers`: "cmcc,cucc"), how many cells, one cell's id, and a label for people
 * (`name`: "移动·联通"). The tile reaches a little beyond its edges so that a dot on the edge is
 * drawn whole.
 *
 * @returns the MVT tile, or undefined when no tower is there.
 */
export async function towersTile(ch: ClickHouseClient, z: number, x: number, y: number): Promise<Uint8Array | undefined> {
  if (z < TOWERS_MIN_ZOOM) return undefined;
  const [w, s, e, n] = tileBounds(z, x, y);
  const padX = (e - w) / 32;
  const padY = (n - s) / 32;
  const rows = await selectRows<SiteRow>(
    ch,
    sql`SELECT la, lo, groupUniqArray(k) AS ks, count() AS n, min(nm) AS first FROM (
          SELECT cell, round(any(lat), 5) AS la, round(any(lng), 5) AS lo, any(carrier) AS k, any(name) AS nm
            FROM insight_cells
           WHERE lng >= ${w - padX} AND lng <= ${e + padX} AND lat >= ${s - padY} AND lat <= ${n + padY}
           GROUP BY cell)
        GROUP BY la, lo ORDER BY la, lo LIMIT ${TOWERS_PER_TILE}`.text,
  ).catch((err: unknown) => {
    // Insight has not started on this database yet: no cell is known.
    if (unknownTable(err)) return [];
    throw err;
  });
  if (rows.length === 0) return undefined;
  const points: TilePoint[] = rows.map((r) => {
    const carriers = [...r.ks]
      .map(Number)
      .sort()
      .map((k) => CARRIERS[k - 1])
      .filter((c): c is (typeof CARRIERS)[number] => !!c);
    return {
      lng: Number(r.lo),
      lat: Number(r.la),
      properties: {
        name: carriers.map((c) => CARRIER_NAMES[c]).join('·') || '基站',
        carriers: carriers.join(','),
        cells: Number(r.n),
        cell: r.first,
      },
    };
  });
  return encodePointTile(TOWERS_LAYER, points, z, x, y);
}

/** ClickHouse's UNKNOWN_TABLE (code 60; 18.16 says so only in the message). */
function unknownTable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return String(e?.code) === '60' || /UNKNOWN_TABLE|^Code: 60\b/.test(String(e?.message));
}
