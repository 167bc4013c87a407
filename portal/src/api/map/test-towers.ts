import { INSIGHT_MIGRATIONS } from '@geo/insight';
import { connectClickHouse, migrateClickHouse, sql } from '@geo/infra';
import { latLngToCell } from 'h3-js';
import { TEST_STATION } from '../../map-import/test-extract.ts';

/** Two masts near the test extract's station: one carrying a cell of each carrier, one China Mobile's only. */
export const TEST_TOWERS = [
  { lng: TEST_STATION.lng + 0.002, lat: TEST_STATION.lat + 0.0012, cells: ['460-00-100001-1', '460-01-100001-1', '460-11-100001-1'] },
  { lng: TEST_STATION.lng - 0.0025, lat: TEST_STATION.lat - 0.0018, cells: ['460-00-100002-2'] },
] as const;

/**
 * A ClickHouse database of its own with insight's schema and the serving cells of
 * {@link TEST_TOWERS} in `insight_cells`, as insight's sink writes them, for tests of the towers layer.
 *
 * @returns the database's URL (give it to the portal as `clickhouseUrl`)
 */
export async function writeTestTowers(clickhouseUrl: string): Promise<string> {
  const url = await emptyDatabase(clickhouseUrl);
  const ch = connectClickHouse(url);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  let key = 7_000_000;
  const rows = TEST_TOWERS.flatMap((t) =>
    t.cells.map((name) => {
      const carrier = { '00': 1, '01': 2, '11': 3 }[name.slice(4, 6)]!;
      const h3 = BigInt(`0x${latLngToCell(t.lat, t.lng, 9)}`);
      return sql`(${++key}, ${name}, ${t.lat}, ${t.lng}, ${h3}, 330100, toDateTime(1700000000), ${carrier})`.text;
    }),
  );
  await ch.command({ query: `INSERT INTO insight_cells (cell, name, lat, lng, h3, city, first_seen, carrier) VALUES ${rows.join(', ')}` });
  await ch.close();
  return url;
}

/** A new, empty ClickHouse database (insight has not run there); its URL. */
export async function emptyDatabase(clickhouseUrl: string): Promise<string> {
  const db = `map_towers_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = connectClickHouse(clickhouseUrl);
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await admin.close();
  return `${clickhouseUrl.replace(/\/$/, '')}/${db}`;
}
