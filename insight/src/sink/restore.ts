import { selectRows, type ClickHouseClient } from '@geo/infra';
import type { PresenceState } from './presence-state.ts';

/** Restoring gives the event loop a turn after this much work (ms). */
const YIELD_MS = 20;

/** Loads cells and the presence checkpoint into memory (once, at start-up). */
export async function restoreState(ch: ClickHouseClient, state: PresenceState): Promise<void> {
  const cells = state.cells;
  const cellRows = await selectRows<{ cell: string; carrier: number; name: string; lat: number; lng: number; city: number }>(
    ch,
    'SELECT toString(cell) AS cell, any(carrier) AS carrier, any(name) AS name, any(lat) AS lat, any(lng) AS lng, any(city) AS city FROM insight_cells GROUP BY cell',
  );
  for (const r of cellRows) cells.restore(Number(r.carrier), r.name, Number(r.cell), r.lat, r.lng, Number(r.city));
  cells.takeFresh();
  const rs = await ch.query({
    query: `SELECT sub, cell, ts, carrier, gender, age, home, detached, pos FROM insight_presence FINAL`,
    format: 'TabSeparated',
  });
  const text = await rs.text();
  // A million rows take seconds: give the event loop a turn now and then so /healthz answers
  // while restoring (a liveness probe would otherwise restart the service mid-restore).
  let since = performance.now();
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (performance.now() - since > YIELD_MS) {
      await new Promise<void>((r) => setImmediate(r));
      since = performance.now();
    }
    const f = line.split('\t');
    const cell = Number(f[1]) === 0 ? -1 : (cells.indexOfKey(Number(f[1])) ?? -1);
    state.restore({
      sub: Number(f[0]),
      cell,
      ts: Number(f[2]),
      carrier: Number(f[3]),
      gender: Number(f[4]),
      age: Number(f[5]),
      home: Number(f[6]),
      detached: Number(f[7]),
      pos: Number(f[8]),
    });
  }
  state.takeDirty();
  const [b] = await selectRows<{ b: number }>(ch, 'SELECT toUInt64(max(bucket)) AS b FROM insight_population');
  const last = Number(b?.b ?? 0) * 1000;
  // Without any snapshot yet, start at the watermark's boundary (nothing to say about earlier ones).
  state.lastBoundary = last > 0 ? last : state.watermark - (state.watermark % 300_000);
}
