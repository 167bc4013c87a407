import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeLocationColumns, encodeLocationBatch, type LocationEvent } from '@geo/ingest';
import { CellDictionary, cellKey, cellNameKey } from './cells.ts';
import { BUCKET_MS, PresenceState, streamPos, type EventLike, type StateSink } from './presence-state.ts';

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const ev = (msisdn: string, ts: number, cell: string, kind = 'periodic', extra: Partial<EventLike> = {}): EventLike => ({
  msisdn,
  carrier: 'cucc',
  ts,
  cell,
  lat: 30 + cell.length / 100,
  lng: 120,
  kind,
  ...extra,
});

function recorder() {
  const moves: [number, number, number, number][] = [];
  const snaps: [number, number][] = [];
  const sink: StateSink = {
    move: (ts, sub, from, to) => void moves.push([ts, sub, from, to]),
    snapshot: (b, counts) => void snaps.push([b, counts.reduce((a, x) => a + x, 0)]),
  };
  return { moves, snaps, sink };
}

describe('PresenceState', () => {
  it('emits a move only when the cell changes, a first sighting from no cell', () => {
    const s = new PresenceState(new CellDictionary());
    const r = recorder();
    s.apply(ev('13900000001', T0, 'a'), streamPos(1, 0), r.sink);
    s.apply(ev('13900000001', T0 + 60_000, 'a'), streamPos(1, 1), r.sink);
    s.apply(ev('13900000001', T0 + 120_000, 'bb'), streamPos(2, 0), r.sink);
    expect(r.moves).toEqual([
      [T0, 13900000001, -1, 0],
      [T0 + 120_000, 13900000001, 0, 1],
    ]);
  });

  it('skips an event at or before the position already applied (redelivery)', () => {
    const s = new PresenceState(new CellDictionary());
    const r = recorder();
    expect(s.apply(ev('13900000001', T0, 'a'), streamPos(5, 3), r.sink)).toBe(true);
    expect(s.apply(ev('13900000001', T0 + 1000, 'b'), streamPos(6, 0), r.sink)).toBe(true);
    expect(s.apply(ev('13900000001', T0, 'a'), streamPos(5, 3), r.sink)).toBe(false);
    expect(s.apply(ev('13900000001', T0 + 1000, 'b'), streamPos(6, 0), r.sink)).toBe(false);
    expect(r.moves).toHaveLength(2);
  });

  it('applies newer events from a re-created stream whose positions restart at 1', () => {
    const s = new PresenceState(new CellDictionary());
    const r = recorder();
    s.apply(ev('13900000001', T0, 'a'), streamPos(900, 0), r.sink);
    expect(s.apply(ev('13900000001', T0 + 60_000, 'b'), streamPos(1, 0), r.sink)).toBe(true);
    expect(r.moves).toHaveLength(2);
  });

  it('keeps the location of a newer event when an older one arrives late, but takes its profile', () => {
    const s = new PresenceState(new CellDictionary());
    const r = recorder();
    s.apply(ev('13900000001', T0 + 5000, 'a'), 1, r.sink);
    s.apply(ev('13900000001', T0, 'b', 'periodic', { gender: 'f', age: 33, home: '330106' }), 2, r.sink);
    const i = s.indexOf(13900000001)!;
    expect(s.cells.names[s.cell[i]!]).toBe('a');
    expect([s.gender[i], s.age[i], s.home[i]]).toEqual([2, 33, 330106]);
  });

  it('is present until the staleness limit, and not after a detach', () => {
    const s = new PresenceState(new CellDictionary(), 2 * 3600_000);
    const r = recorder();
    s.apply(ev('13900000001', T0, 'a'), 1, r.sink);
    s.apply(ev('13900000002', T0, 'a'), 2, r.sink);
    s.apply(ev('13900000002', T0 + 1000, 'a', 'detach'), 3, r.sink);
    expect(s.isPresent(0, T0 + 2 * 3600_000 - 1)).toBe(true);
    expect(s.isPresent(0, T0 + 2 * 3600_000)).toBe(false);
    expect(s.isPresent(1, T0 + 2000)).toBe(false);
  });

  it('snapshots presence at each 5-minute boundary crossed, before applying the crossing event', () => {
    const s = new PresenceState(new CellDictionary());
    const r = recorder();
    s.apply(ev('13900000001', T0 + 1000, 'a'), 1, r.sink);
    s.apply(ev('13900000002', T0 + 2000, 'a'), 2, r.sink);
    s.apply(ev('13900000003', T0 + 3 * BUCKET_MS + 5, 'a'), 3, r.sink);
    expect(r.snaps).toEqual([
      [T0 + BUCKET_MS, 2],
      [T0 + 2 * BUCKET_MS, 2],
      [T0 + 3 * BUCKET_MS, 2],
    ]);
  });
});

describe('PresenceState.applyColumns', () => {
  const event = fc.record({
    sub: fc.integer({ min: 0, max: 30 }),
    dt: fc.integer({ min: -400_000, max: 400_000 }),
    cell: fc.constantFrom('a', 'bb', '460-00-1-1', '杭州-9', 'c'),
    carrier: fc.constantFrom('cmcc' as const, 'cucc' as const, 'ctcc' as const),
    kind: fc.constantFrom('periodic' as const, 'detach' as const, 'attach' as const),
    gender: fc.option(fc.constantFrom('m' as const, 'f' as const), { nil: undefined }),
    age: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
    home: fc.option(fc.constantFrom('330106', '110101', '000123'), { nil: undefined }),
  });
  const toEvent = (
    e: {
      sub: number;
      dt: number;
      cell: string;
      carrier: LocationEvent['carrier'];
      kind: LocationEvent['kind'];
      gender?: 'm' | 'f';
      age?: number;
      home?: string;
    },
    t: number,
  ): LocationEvent => {
    const out: LocationEvent = {
      msisdn: String(13_900_000_000 + e.sub),
      carrier: e.carrier,
      ts: t,
      cell: e.cell,
      lat: 30 + e.cell.length / 100,
      lng: 120,
      kind: e.kind,
    };
    if (e.gender) out.gender = e.gender;
    if (e.age !== undefined) out.age = e.age;
    if (e.home) out.home = e.home;
    return out;
  };
  const dump = (s: PresenceState) => ({
    count: s.count,
    rows: Array.from({ length: s.count }, (_, i) => [
      s.msisdn[i],
      s.cell[i]! < 0 ? '' : s.cells.names[s.cell[i]!],
      s.ts[i],
      s.carrier[i],
      s.gender[i],
      s.age[i],
      s.home[i],
      s.detached[i],
      s.pos[i],
    ]),
    watermark: s.watermark,
    lastBoundary: s.lastBoundary,
  });

  it('does what apply does event by event, from binary and JSON columns, redeliveries included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(event, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(7), { maxLength: 4 }),
        (batches, again) => {
          // Times wander forwards (with late events), across several 5-minute boundaries.
          let t = T0;
          const messages = batches.map((b) => b.map((e) => toEvent(e, (t += Math.abs(e.dt) % 97_000) + Math.min(0, e.dt))));
          const order = [...messages.keys(), ...again.filter((k) => k < messages.length)];
          const one = new PresenceState(new CellDictionary());
          const r1 = recorder();
          for (const k of order) messages[k]!.forEach((e, i) => one.apply(e, streamPos(k + 1, i), r1.sink));
          const dirty = [...one.takeDirty()].sort();
          for (const binary of [true, false]) {
            const cols = new PresenceState(new CellDictionary());
            const r2 = recorder();
            let applied = 0;
            for (const k of order) {
              const data = binary ? encodeLocationBatch(messages[k]!) : Buffer.from(JSON.stringify({ v: 1, events: messages[k] }));
              applied += cols.applyColumns(decodeLocationColumns(data), k + 1, r2.sink);
            }
            expect(applied).toBe(messages.reduce((n, m) => n + m.length, 0));
            expect(dump(cols)).toEqual(dump(one));
            const named = (r: ReturnType<typeof recorder>, s: PresenceState) =>
              r.moves.map(([ts, sub, from, to]) => [ts, sub, from < 0 ? '' : s.cells.names[from], s.cells.names[to]]);
            expect(named(r2, cols)).toEqual(named(r1, one));
            expect(r2.snaps).toEqual(r1.snaps);
            expect([...cols.takeDirty()].sort()).toEqual(dirty);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('cellKey', () => {
  it('is stable, non-zero and within 52 bits', () => {
    expect(cellKey(1, '460-00-12345-678')).toBe(cellKey(1, '460-00-12345-678'));
    expect(cellKey(1, 'a')).not.toBe(cellKey(1, 'b'));
    for (const n of ['', 'x', '460-01-1-1', '中文']) {
      for (const c of [0, 1, 2, 3]) {
        const k = cellKey(c, n);
        expect(k).toBeGreaterThan(0);
        expect(k).toBeLessThan(2 ** 52);
        expect(Number.isInteger(k)).toBe(true);
      }
    }
  });

  it('keys the same cell id of two carriers apart (a cell id is unique only within its carrier)', () => {
    const keys = [1, 2, 3].map((c) => cellKey(c, 'C1'));
    expect(new Set(keys).size).toBe(3);
    expect(cellKey(0, 'C1')).toBe(cellNameKey('C1'));
  });
});

describe('CellDictionary', () => {
  it('holds one cell per (carrier, id), at its own place, found by name and by bytes', () => {
    const d = new CellDictionary();
    const a = d.intern(1, 'C1', 30, 120);
    const b = d.intern(3, 'C1', 30.1, 120.1);
    expect(a).not.toBe(b);
    expect(d.intern(1, 'C1', 31, 121)).toBe(a);
    expect([d.lat[a], d.lat[b]]).toEqual([30, 30.1]);
    expect(d.indexOfName(3, 'C1')).toBe(b);
    expect(d.indexOfName(2, 'C1')).toBeUndefined();
    const bytes = new TextEncoder().encode('xC1');
    expect(d.findBytes(1, bytes, 1, 2)).toBe(a);
    expect(d.findBytes(3, bytes, 1, 2)).toBe(b);
    expect(d.findBytes(2, bytes, 1, 2)).toBe(-1);
  });

  it('gives two carriers’ events with the same cell id in one binary batch their own cells', () => {
    const s = new PresenceState(new CellDictionary());
    const batch: LocationEvent[] = [
      { msisdn: '13800000001', carrier: 'cmcc', ts: T0, cell: 'C1', lat: 30, lng: 120, kind: 'periodic' },
      { msisdn: '13300000001', carrier: 'ctcc', ts: T0, cell: 'C1', lat: 30, lng: 120, kind: 'periodic' },
    ] as LocationEvent[];
    s.applyColumns(decodeLocationColumns(encodeLocationBatch(batch)), 1, recorder().sink);
    expect(s.cells.size).toBe(2);
    expect(s.cells.indexOfName(1, 'C1')).not.toBe(s.cells.indexOfName(3, 'C1'));
  });
});
