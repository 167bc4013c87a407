import { connectClickHouse, selectRows } from '@geo/infra';
const ch = connectClickHouse(process.env.CH!, process.env.DB!);
const cells = await selectRows<{ cell: string; h3: string; lat: number; lng: number }>(ch, 'SELECT toString(cell) AS cell, toString(any(h3)) AS h3, any(lat) AS lat, any(lng) AS lng FROM insight_cells GROUP BY cell');
const [cx, cy] = [119.66, 29.85];
const R = Number(process.env.R ?? 0.06);
const sel = cells.filter((c) => Math.hypot(c.lng - cx, c.lat - cy) < R);
console.log('cells', sel.length);
const keys = `(${sel.map((c) => c.cell).join(',')})`;
const H = `(${sel.map((c) => c.h3).join(',')})`;
const [{ m }] = await selectRows<{ m: string }>(ch, 'SELECT toUInt32(max(ts)) AS m FROM insight_moves_to');
const at = Number(m);
const week = at - 7 * 86400, day = at - 86400, hourAgo = at - 3600, midnight = at - 5 * 3600, entry = at - 8 * 3600;
const S = { max_query_size: '67108864' };
const parts: Record<string, string> = {
  inflow: `SELECT key, uniqExact(sub) FROM (SELECT sub, arrayJoin(arrayFilter(x -> x != 0, [
      if(ts >= ${week}, toUInt64(toStartOfHour(ts)) * 8 + 1, 0), if(ts >= ${day}, toUInt64(toStartOfFiveMinute(ts)) * 8 + 2, 0),
      if(ts >= ${hourAgo}, toUInt64(3), 0), if(ts >= ${midnight}, toUInt64(4), 0)])) AS key FROM insight_moves_to
      WHERE to_h3 IN ${H} AND to_cell IN ${keys} AND from_cell NOT IN ${keys} AND from_cell != 0 AND ts >= toDateTime(${week}) AND ts <= toDateTime(${at})) GROUP BY key`,
  inflow_hourly_only: `SELECT toStartOfHour(ts) AS h, uniqExact(sub) FROM insight_moves_to
      WHERE to_h3 IN ${H} AND to_cell IN ${keys} AND from_cell NOT IN ${keys} AND from_cell != 0 AND ts >= toDateTime(${week}) AND ts <= toDateTime(${at}) GROUP BY h`,
  inflow_count_rows: `SELECT count() FROM insight_moves_to WHERE to_h3 IN ${H} AND to_cell IN ${keys} AND ts >= toDateTime(${week})`,
  outflow: `SELECT key, uniqExact(sub) FROM (SELECT sub, arrayJoin(arrayFilter(x -> x != 0, [
      if(ts >= ${week}, toUInt64(toStartOfHour(ts)) * 8 + 1, 0), if(ts >= ${day}, toUInt64(toStartOfFiveMinute(ts)) * 8 + 2, 0),
      if(ts >= ${hourAgo}, toUInt64(3), 0), if(ts >= ${midnight}, toUInt64(4), 0)])) AS key FROM insight_moves_from
      WHERE from_h3 IN ${H} AND from_cell IN ${keys} AND to_cell NOT IN ${keys} AND ts >= toDateTime(${week}) AND ts <= toDateTime(${at})) GROUP BY key`,
  entries: `SELECT sub, max(ts) FROM insight_moves_to WHERE to_h3 IN ${H} AND to_cell IN ${keys} AND from_cell NOT IN ${keys} AND ts > toDateTime(${entry}) AND ts <= toDateTime(${at}) GROUP BY sub`,
  pop_final: `SELECT bucket, sum(n) FROM insight_population FINAL WHERE h3 IN ${H} AND cell IN ${keys} AND bucket >= toDateTime(${week}) AND bucket <= toDateTime(${at}) GROUP BY bucket`,
  pop_nofinal: `SELECT bucket, sum(n) FROM (SELECT bucket, cell, max(n) AS n FROM insight_population WHERE h3 IN ${H} AND cell IN ${keys} AND bucket >= toDateTime(${week}) AND bucket <= toDateTime(${at}) GROUP BY bucket, cell) GROUP BY bucket`,
};
for (let rep = 0; rep < 3; rep++) {
  for (const [name, q] of Object.entries(parts)) {
    const t = performance.now();
    const rs = await ch.query({ query: q, format: 'TabSeparated', clickhouse_settings: S });
    const txt = await rs.text();
    console.log(rep, name, Math.round(performance.now() - t), 'ms', txt.split('\n').length, 'rows');
  }
}
await ch.close();
