import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CARRIERS } from '@geo/ingest';
import type { Move } from '../contract.ts';
import { CellTable, NO_CELL } from '../presence/presence.ts';
import { MoveBatchWriter, MoveDecodeError, decodeMoveMessage } from './move-codec.ts';

describe('binary MOVES batch', () => {
  it('round-trips moves exactly: cells (unicode ids), positions of `to` (else `from`), nulls, profile present or not', () => {
    const cells = new CellTable();
    const ids = ['460-00-100001-1', '小区-東', 'c😀', 'x'];
    ids.forEach((id, k) => cells.intern(0, id, 120 + k / 7, 30 - k / 9));
    const move = fc.record({
      msisdn: fc.integer({ min: 13_000_000_000, max: 19_999_999_999 }),
      carrier: fc.integer({ min: 0, max: 2 }),
      ts: fc.integer({ min: 1, max: 2 ** 45 }),
      from: fc.integer({ min: -1, max: ids.length - 1 }),
      to: fc.integer({ min: -1, max: ids.length - 1 }),
      gender: fc.integer({ min: 0, max: 2 }),
      age: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constant(255)),
      home: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 999_999 })),
    }).filter((m) => m.from !== m.to);
    const w = new MoveBatchWriter(cells);
    fc.assert(
      fc.property(fc.array(move, { minLength: 1, maxLength: 3000 }), (moves) => {
        for (const m of moves) w.add(m.msisdn, m.carrier, m.ts, m.from === -1 ? NO_CELL : m.from, m.to === -1 ? NO_CELL : m.to, m.gender, m.age, m.home);
        const back = decodeMoveMessage(w.encode());
        const want: Move[] = moves.map((m) => {
          const at = m.to >= 0 ? m.to : m.from;
          const x: Move = { msisdn: String(m.msisdn), carrier: CARRIERS[m.carrier], from: m.from < 0 ? null : ids[m.from], to: m.to < 0 ? null : ids[m.to], ts: m.ts, lat: cells.lat[at], lng: cells.lng[at] };
          if (m.gender) x.gender = m.gender === 1 ? 'm' : 'f';
          if (m.age !== 255) x.age = m.age;
          if (m.home) x.home = String(m.home).padStart(6, '0');
          return x;
        });
        expect(back).toEqual(want);
        expect(w.count).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('reads JSON move batches too, and refuses what is neither with a reason', () => {
    const m: Move = { msisdn: '13800000000', carrier: 'cmcc', from: null, to: 'c', ts: 1, lat: 30, lng: 120 };
    expect(decodeMoveMessage(Buffer.from(JSON.stringify({ v: 1, moves: [m] })))).toEqual([m]);
    expect(() => decodeMoveMessage(Buffer.from('{'))).toThrow(MoveDecodeError);
    const cells = new CellTable();
    cells.intern(0, 'c', 120, 30);
    const w = new MoveBatchWriter(cells);
    w.add(13800000000, 0, 1, NO_CELL, 0, 0, 255, 0);
    const b = w.encode();
    expect(() => decodeMoveMessage(b.subarray(0, b.length - 1))).toThrow(/MOVES binary batch/);
  });
});
