import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newChunk, push, RecentMoves, trimmed } from './recent-moves.ts';

const S = 1000;
const all = (r: RecentMoves, from = 0, to = 2 ** 32) => {
  const out: number[][] = [];
  r.scan(from, to, (t, sub, f, c) => out.push([t, sub, f, c]));
  return out;
};

describe('RecentMoves', () => {
  it('covers nothing before start, then everything after the restored watermark', () => {
    const r = new RecentMoves(60 * S, 4);
    r.record(100 * S, 13900000001, -1, 3);
    expect(r.covers(0)).toBe(false);
    r.start(99_500); // a watermark of 99.5 s: moves in second 99 may predate the restart
    expect(r.covers(99 * S)).toBe(false);
    expect(r.covers(100 * S)).toBe(true);
    expect(r.covers(100 * S + 999)).toBe(true);
  });

  it('a fresh service (no checkpoint) covers everything it recorded', () => {
    const r = new RecentMoves(60 * S);
    r.start(0);
    r.record(5 * S, 1, -1, 0);
    expect(r.covers(1 * S)).toBe(true);
    expect(all(r)).toEqual([[5, 1, -1, 0]]);
  });

  it('grows past its capacity keeping the order applied, and scans by time (inclusive)', () => {
    const r = new RecentMoves(3600 * S, 2);
    r.start(0);
    for (let i = 0; i < 9; i++) r.record((10 + (i % 3)) * S + 250, 100 + i, i - 1, i);
    expect(r.size).toBe(9);
    expect(all(r).map((m) => m[1])).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108]);
    expect(all(r, 11, 11).map((m) => m[1])).toEqual([101, 104, 107]);
  });

  it('evicts moves older than keepMs before the newest event, and then covers only after them', () => {
    const r = new RecentMoves(10 * S, 4);
    r.start(0);
    r.record(1 * S, 1, -1, 0);
    r.record(2 * S, 2, -1, 0);
    r.record(1 * S, 3, -1, 0); // late: applied after a newer one
    r.record(5 * S, 4, -1, 0);
    expect(r.covers(1 * S)).toBe(true);
    r.record(12 * S, 5, -1, 0); // keeps seconds ≥ 2: evicts the first (1 s), stops at 2 s
    expect(all(r).map((m) => m[1])).toEqual([2, 3, 4, 5]);
    expect(r.covers(1 * S)).toBe(false);
    expect(r.covers(2 * S)).toBe(true);
    r.record(14 * S, 6, -1, 0); // keeps ≥ 4: evicts 2 s and the late 1 s
    expect(all(r).map((m) => m[1])).toEqual([4, 5, 6]);
    expect(r.covers(2 * S)).toBe(false);
    expect(r.covers(3 * S)).toBe(true);
  });

  it('counts moves that arrive more than lateMs after newer ones (a lagging feed), and only those', () => {
    const r = new RecentMoves(3600 * S, 4, 600 * S);
    r.start(0);
    r.record(1000 * S, 1, -1, 0);
    r.record(500 * S, 2, -1, 0); // 500 s late: within the grace period
    expect(r.late).toBe(0);
    r.record(300 * S, 3, -1, 0); // 700 s late
    expect(r.late).toBe(1);
  });

  it('takes older moves read back after a restart: held before the recorded ones, covered from their start', () => {
    const r = new RecentMoves(3600 * S, 2);
    r.record(1000 * S, 7, 0, 1); // applied after the restart
    r.start(900 * S);
    expect(r.covers(500 * S)).toBe(false);
    const older = [newChunk(2), newChunk(2)];
    push(older[0]!, 400, 1, -1, 0);
    push(older[0]!, 401, 2, 0, 1);
    push(older[1]!, 899, 3, 1, 0);
    push(older[1]!, 900, 4, 1, 2);
    older[1] = trimmed(older[1]!); // full: the same chunk
    const part = newChunk(4);
    push(part, 900, 9, 2, 1);
    expect(trimmed(part).ts.length).toBe(1);
    expect(r.adopt(400, 900, older)).toBe(true);
    expect(r.size).toBe(5);
    expect(r.bytes).toBe((2 + 2 + r.chunkSize) * 20);
    expect(r.covers(399 * S)).toBe(false);
    expect(r.covers(400 * S)).toBe(true);
    expect(all(r).map((m) => m[1])).toEqual([1, 2, 3, 4, 7]);
    // They are evicted like any move once older than keepMs before the newest.
    r.record(4500 * S, 8, 0, 1);
    expect(all(r).map((m) => m[1])).toEqual([4, 7, 8]);
    expect(r.covers(899 * S)).toBe(false);
    expect(r.covers(900 * S)).toBe(true);
  });

  it('records after older moves adopted into an empty memory (the last chunk then is a trimmed one)', () => {
    const r = new RecentMoves(3600 * S, 4);
    r.start(900 * S);
    const older = newChunk(4);
    push(older, 850, 1, 0, 1);
    expect(r.adopt(800, 900, [trimmed(older)])).toBe(true);
    r.record(950 * S, 2, 1, 0);
    r.record(951 * S, 3, 1, 0);
    expect(all(r)).toEqual([
      [850, 1, 0, 1],
      [950, 2, 1, 0],
      [951, 3, 1, 0],
    ]);
  });

  it('refuses older moves that would leave a gap (memory evicted past their end meanwhile)', () => {
    const r = new RecentMoves(100 * S, 4);
    r.start(900 * S);
    r.record(950 * S, 1, 0, 1);
    r.record(1200 * S, 2, 0, 1); // evicts 950 s: now complete only after it
    const older = [newChunk(4)];
    push(older[0]!, 880, 3, 0, 1);
    expect(r.adopt(800, 900, older)).toBe(false);
    expect(r.size).toBe(1);
    expect(r.covers(900 * S)).toBe(false);
  });

  it('scans only the moves that cross a region’s edge, in or out, first sightings inside included', () => {
    const r = new RecentMoves(3600 * S, 3);
    r.start(0);
    const inside = Uint8Array.from([0, 1, 1, 0]);
    r.record(10 * S, 1, 0, 1); // in
    r.record(11 * S, 2, 1, 2); // inside
    r.record(12 * S, 3, 2, 3); // out
    r.record(13 * S, 4, -1, 2); // first sighting inside
    r.record(14 * S, 5, -1, 0); // first sighting outside
    r.record(15 * S, 6, 3, 0); // outside
    r.record(30 * S, 7, 3, 1); // in, after the window
    const seen: number[] = [];
    r.crossings(inside, 10, 20, (_t, sub) => seen.push(sub));
    expect(seen).toEqual([1, 3, 4]);
    const viaScan: number[] = [];
    r.scan(10, 20, (_t, sub, f, c) => {
      if (inside[c] !== (f < 0 ? 0 : inside[f])) viaScan.push(sub);
    });
    expect(viaScan).toEqual(seen);
  });

  it('crossings and moves touching cells, read by cell from the segments, are those of a pass over every move held, and crossings those of every move recorded in what it covers (#24)', () => {
    const CELLS = 12;
    const sortedRows = (rows: number[][]) => rows.map((m) => m.join(',')).sort();
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 400 }),
            fc.integer({ min: 0, max: 6 }),
            fc.integer({ min: -1, max: CELLS - 1 }),
            fc.integer({ min: 0, max: CELLS - 1 }),
          ),
          { minLength: 20, maxLength: 200, size: 'max' },
        ),
        // Small regions mostly (read by their cells' runs), big ones too (read whole).
        fc.array(
          fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
          { minLength: CELLS, maxLength: CELLS },
        ),
        fc.integer({ min: 2, max: 24 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 30, max: 1500 }),
        fc.integer({ min: 300, max: 2000 }),
        fc.integer({ min: 0, max: 2500 }),
        fc.integer({ min: 0, max: 2500 }),
        fc.boolean(),
        (raw, inside, chunkSize, perCell, spanS, keepS, a, b, adopted) => {
          const r = new RecentMoves(keepS * S, chunkSize, 600 * S, perCell, spanS * S);
          r.start(0);
          const recorded: (readonly [number, number, number, number])[] = [];
          if (adopted) {
            // Older moves read back after a restart: sealed chunks, merged into segments later.
            const older = [newChunk(chunkSize), newChunk(chunkSize)];
            push(older[0]!, 0, 13_900_000_999, -1, 0);
            push(older[0]!, 1, 13_900_000_999, 0, CELLS - 1);
            push(older[1]!, 2, 13_900_000_998, CELLS - 1, 0);
            r.adopt(0, 2, older.map(trimmed));
            recorded.push([0, 13_900_000_999, -1, 0], [1, 13_900_000_999, 0, CELLS - 1], [2, 13_900_000_998, CELLS - 1, 0]);
            while (r.mergeSegment());
          }
          // Ten seconds apart, up to 400 s late: eviction leaves chunks part-read (head > 0) too.
          const moves = raw.map(([late, sub, f, c], i) => [Math.max(3, i * 10 - late), 13_900_000_000 + sub, f, c] as const);
          for (const [t, sub, f, c] of moves) r.record(t * S, sub, f, c);
          recorded.push(...moves);
          const inRegion = Uint8Array.from(inside, (x) => (x ? 1 : 0));
          const crosses = (f: number, c: number) => (f >= 0 && inRegion[f] === 1) !== (inRegion[c] === 1);
          const lo = Math.min(a, b);
          const hi = Math.max(a, b);
          const held: number[][] = [];
          r.scan(lo, hi, (t, sub, f, c) => {
            if (crosses(f, c)) held.push([t, sub, f, c]);
          });
          const seen: number[][] = [];
          r.crossings(inRegion, lo, hi, (t, sub, f, c) => seen.push([t, sub, f, c]));
          expect(sortedRows(seen)).toEqual(sortedRows(held));
          // And every move touching the cells (edge hysteresis reads those).
          const touches: number[][] = [];
          r.scan(lo, hi, (t, sub, f, c) => {
            if (inRegion[c] === 1 || (f >= 0 && inRegion[f] === 1)) touches.push([t, sub, f, c]);
          });
          const touched: number[][] = [];
          r.touching(inRegion, lo, hi, (t, sub, f, c) => touched.push([t, sub, f, c]));
          expect(sortedRows(touched)).toEqual(sortedRows(touches));
          if (r.covers(lo * S)) {
            const all = recorded.filter(([t, , f, c]) => t >= lo && t <= hi && crosses(f, c)).map((m) => [...m]);
            expect(sortedRows(seen)).toEqual(sortedRows(all));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('merges sealed chunks into a segment sorted by to cell, with positions by from cell (first sightings only by to)', () => {
    const r = new RecentMoves(3600 * S, 3, 600 * S, 2, 3600 * S);
    r.start(0);
    const moves = [
      [1, 1, -1, 2],
      [2, 2, 2, 0],
      [3, 3, 0, 2],
      [4, 4, 2, 1],
      [5, 5, -1, 0],
      [6, 6, 1, 2],
      [7, 7, 0, 1],
    ] as const;
    // 3 cells × 2 moves a cell = 6: the two sealed chunks are merged as the seventh move starts a third.
    for (const [t, sub, f, c] of moves) r.record(t * S, sub, f, c);
    expect(r.segmented).toBe(6);
    const seg = (r as any).segments[0];
    expect([...seg.to]).toEqual([0, 0, 1, 2, 2, 2]);
    expect([...seg.sub]).toEqual([2, 5, 4, 1, 3, 6]);
    expect([...seg.toStart]).toEqual([0, 2, 3, 6]);
    expect([...seg.byFrom].map((p: number) => seg.from[p])).toEqual([0, 1, 2, 2]);
    expect([...seg.fromStart]).toEqual([0, 1, 2, 4]);
    expect(r.indexBytes).toBe(4 * 4 + 4 * 4 * 2);
    expect(r.bytes).toBe((6 + 3) * 20);
    const seen: number[] = [];
    r.crossings(Uint8Array.from([0, 0, 1]), 0, 100, (_t, sub) => seen.push(sub));
    expect(seen.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 6]);
  });

  it('evicts a segment whole once all its moves are older than keepMs, and covers only after them', () => {
    const r = new RecentMoves(100 * S, 4, 600 * S, 1, 3600 * S);
    r.start(0);
    for (let i = 0; i < 6; i++) r.record((10 + i) * S, i, 0, 1); // a segment of 10–13 s, then 14–15 s in chunks
    expect(r.segmented).toBe(4);
    r.record(112 * S, 6, 0, 1); // keeps ≥ 12 s: the segment's 12 and 13 s hold it whole
    expect(r.size).toBe(7);
    // Its 10 and 11 s are held but count as gone: covered are the last 100 s, as with chunks.
    expect(r.covers(11 * S)).toBe(false);
    expect(r.covers(12 * S)).toBe(true);
    r.record(114 * S, 7, 0, 1); // keeps ≥ 14 s: the segment goes
    expect(r.size).toBe(4);
    expect(r.covers(13 * S)).toBe(false);
    expect(r.covers(14 * S)).toBe(true);
  });
});
