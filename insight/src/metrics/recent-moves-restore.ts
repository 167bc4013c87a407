import type { ClickHouseClient, Logger } from '@geo/infra';
import { newChunk, push, trimmed, type MoveChunk, type RecentMoves } from './recent-moves.ts';

/** `toUInt32(ts), sub, from_cell, to_cell` in RowBinary: 4 + 8 + 8 + 8 bytes a row. */
const ROW = 28;
const HOUR_S = 3600;

/**
 * After a start (a restart, a standby, a takeover), the moves held in memory cover only what was
 * applied since; a region's first query would read up to a day of moves from ClickHouse until they
 * are there again. This reads them back once, in the background: every move of the `recent.keepMs`
 * before `watermarkMs` (the restored state's newest event; everything after it is recorded as it is
 * applied), from `insight_moves_to` (the Distributed table in cluster mode), and hands them to
 * {@link RecentMoves.adopt}. Rows come in the table's order (by place); they are put into chunks per
 * hour, oldest hour first, so that eviction frees memory hour by hour. Duplicates (a move both read
 * here and applied again after a restart, or a row written twice) change no answer: every figure is
 * a set of people or a latest time. `indexOfKey` maps a stored cell key to the dense cell index; a
 * move through a cell not known here (not restored) makes the read incomplete, and nothing is taken.
 *
 * @returns the moves taken, or `undefined` when they were not (a gap, or an unknown cell).
 */
export async function restoreRecentMoves(
  ch: ClickHouseClient,
  recent: RecentMoves,
  watermarkMs: number,
  indexOfKey: (key: number) => number | undefined,
  log?: Logger,
): Promise<number | undefined> {
  const t0 = performance.now();
  const toS = Math.floor(watermarkMs / 1000);
  const fromS = Math.floor((watermarkMs - recent.keepMs) / 1000);
  if (watermarkMs <= 0) return undefined;
  const res = await ch.exec({
    query: `SELECT toUInt32(ts), sub, from_cell, to_cell FROM insight_moves_to
      WHERE ts >= toDateTime(${fromS}) AND ts <= toDateTime(${toS}) FORMAT RowBinary`,
  });
  const hours = new Map<number, MoveChunk[]>();
  let rows = 0;
  let unknown = 0;
  let rest: Buffer | undefined;
  let since = performance.now();
  const u64 = (b: Buffer, p: number) => b.readUInt32LE(p) + b.readUInt32LE(p + 4) * 4294967296;
  for await (const part of res.stream as AsyncIterable<Buffer>) {
    const buf = rest ? Buffer.concat([rest, part]) : part;
    const end = buf.length - (buf.length % ROW);
    for (let p = 0; p < end; p += ROW) {
      const s = buf.readUInt32LE(p);
      const fromKey = u64(buf, p + 12);
      const to = indexOfKey(u64(buf, p + 20));
      const from = fromKey === 0 ? -1 : indexOfKey(fromKey);
      if (to === undefined || from === undefined) {
        unknown++;
        continue;
      }
      const h = s - (s % HOUR_S);
      let list = hours.get(h);
      if (!list) hours.set(h, (list = []));
      let c = list[list.length - 1];
      if (!c || c.n === recent.chunkSize) list.push((c = newChunk(recent.chunkSize)));
      push(c, s, u64(buf, p + 4), from, to);
      rows++;
    }
    rest = end < buf.length ? Buffer.from(buf.subarray(end)) : undefined;
    if (performance.now() - since > 20) {
      await new Promise<void>((r) => setImmediate(r));
      since = performance.now();
    }
  }
  const ms = Math.round(performance.now() - t0);
  if (unknown > 0 || rest) {
    log?.warn({ unknown, ms }, 'moves read back from ClickHouse name cells not known here: first queries keep reading ClickHouse');
    return undefined;
  }
  // Each hour's last chunk is part-filled: 25 of them were ~30 MB of unused tails at 1M subscribers.
  const chunks = [...hours.keys()].sort((a, b) => a - b).flatMap((h) => hours.get(h)!.map(trimmed));
  if (!recent.adopt(fromS, toS, chunks)) {
    log?.warn({ rows, ms }, 'moves read back from ClickHouse came too late (memory moved past them)');
    return undefined;
  }
  // Sorted by cell into segments here, in the background, a segment at a time (≤ ~1.3M moves each),
  // rather than by the sink's next sealed chunks one at a time while first queries scan them whole.
  while (recent.mergeSegment()) await new Promise<void>((r) => setImmediate(r));
  log?.info({ rows, ms, mb: Math.round(recent.bytes / 1e6) }, 'moves of the last day back in memory');
  return rows;
}
