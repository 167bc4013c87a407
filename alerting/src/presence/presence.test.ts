import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_CELL, Presence, numberString, type PresenceEvent } from './presence.ts';

const ev = (msisdn: string, cell: string, ts: number, over: Partial<PresenceEvent> = {}): PresenceEvent => ({
  msisdn,
  carrier: 'cmcc',
  ts,
  cell,
  lat: 30,
  lng: 120,
  kind: 'periodic',
  ...over,
});

describe('numberString', () => {
  it('writes any number as String does', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.maxSafeNat(),
          fc.nat(1e6).map((k) => 99_999_000 + k),
          fc.double({ min: 1e8, max: 1e12 }).map(Math.floor),
          fc.double(),
        ),
        (n) => {
          expect(numberString(n)).toBe(String(n));
        },
      ),
      { numRuns: 2000 },
    );
    for (const n of [1e8, 1e8 - 1, 1e12 - 1, 1e12, 13_800_000_000, 10_000_000_001, 19_999_999_999]) expect(numberString(n)).toBe(String(n));
  });
});

describe('Presence', () => {
  it('tracks the last cell, counts per cell, and sees moves', () => {
    const p = new Presence({ capacity: 4 });
    const a = p.apply(ev('13800000001', 'c1', 1_000_000));
    expect(p.lastPrevCell).toBe(NO_CELL);
    p.apply(ev('13800000002', 'c1', 1_000_000));
    p.apply(ev('13800000001', 'c2', 1_060_000));
    expect(p.cells.ids[p.lastPrevCell]).toBe('c1');
    expect(p.cells.ids[p.cell[a]]).toBe('c2');
    expect(p.sinceSec[a]).toBe(1060);
    expect(Object.fromEntries(p.countsPerCell())).toEqual({ 'cmcc:c1': 1, 'cmcc:c2': 1 });
  });

  it('ignores an event older than the one applied (replay and redelivery are harmless)', () => {
    const p = new Presence();
    const a = p.apply(ev('13800000001', 'c2', 2_000_000));
    p.apply(ev('13800000001', 'c1', 1_000_000));
    expect(p.cells.ids[p.cell[a]]).toBe('c2');
    expect(Object.fromEntries(p.countsPerCell())).toEqual({ 'cmcc:c2': 1 });
  });

  it('makes a detached or stale subscriber absent and keeps counts right', () => {
    const p = new Presence({ stalenessMs: 3600_000 });
    const a = p.apply(ev('13800000001', 'c1', 0 + 1000));
    const b = p.apply(ev('13800000002', 'c1', 3000_000));
    p.apply(ev('13800000002', 'c1', 3001_000, { kind: 'detach' }));
    expect(p.isPresent(b, 3002_000)).toBe(false);
    expect(p.isPresent(a, 3000_000)).toBe(true);
    const left: number[] = [];
    expect(p.sweep(3700_000, (i) => left.push(i))).toBe(1);
    expect(left).toEqual([a]);
    expect(p.countsPerCell().size).toBe(0);
  });

  it('keeps the profile attributes the carrier attached', () => {
    const p = new Presence();
    const a = p.apply(ev('13800000001', 'c1', 1000, { gender: 'f', age: 0, home: '010101'.replace(/^0/, '1') }));
    expect(p.profile(a)).toEqual({ carrier: 'cmcc', gender: 'f', age: 0, home: '110101' });
    const b = p.apply(ev('13800000002', 'c1', 1000, { carrier: 'ctcc' }));
    expect(p.profile(b)).toEqual({ carrier: 'ctcc', gender: undefined, age: undefined, home: undefined });
    expect(p.msisdnOf(b)).toBe('13800000002');
  });

  it('finds cells by their id bytes as by their strings, through growth, with unicode ids and ids first seen either way', () => {
    const p = new Presence();
    const ids = Array.from({ length: 20_000 }, (_, k) =>
      k % 7 === 0 ? `小区-${k}-東` : k % 11 === 0 ? `c😀${k}` : `460-00-${100000 + k}-1`,
    );
    const bytesOf = (id: string) => new Uint8Array(Buffer.from(`xx${id}`, 'utf8'));
    const decode = (b: Uint8Array, at: number, len: number) => Buffer.from(b.buffer, b.byteOffset + at, len).toString('utf8');
    // Even ids by string first, odd ones by bytes first; then every one both ways.
    const want = ids.map((id, k) =>
      k % 2 ? p.cells.internBytes(1, bytesOf(id), 2, bytesOf(id).length - 2, 120, 30, decode) : p.cells.intern(1, id, 120, 30),
    );
    expect(new Set(want).size).toBe(ids.length);
    ids.forEach((id, k) => {
      const b = bytesOf(id);
      expect(p.cells.internBytes(1, b, 2, b.length - 2, 120, 30, decode)).toBe(want[k]);
      expect(p.cells.intern(1, id, 120, 30)).toBe(want[k]);
      expect(p.cells.ids[want[k]]).toBe(id);
      const { arena, at, len } = p.cells.idBytes(want[k]);
      expect(Buffer.from(arena.subarray(at, at + len)).toString('utf8')).toBe(id);
    });
    expect(p.cells.size).toBe(ids.length);
  });

  it('keys a cell by carrier and id: the same id of two carriers is two cells, by string and by bytes', () => {
    const p = new Presence();
    const decode = (b: Uint8Array, at: number, len: number) => Buffer.from(b.buffer, b.byteOffset + at, len).toString('utf8');
    const bytes = new Uint8Array(Buffer.from('460-00-1-1'));
    const a = p.apply(ev('13800000001', '460-00-1-1', 1000, { carrier: 'cmcc', lng: 120, lat: 30 }));
    const b = p.apply(ev('13800000002', '460-00-1-1', 1000, { carrier: 'cucc', lng: 120.03, lat: 30 }));
    expect(p.cell[a]).not.toBe(p.cell[b]);
    expect([p.cells.lng[p.cell[a]], p.cells.lng[p.cell[b]]]).toEqual([120, 120.03]);
    expect(p.cells.internBytes(0, bytes, 0, bytes.length, 120, 30, decode)).toBe(p.cell[a]);
    expect(p.cells.internBytes(1, bytes, 0, bytes.length, 120.03, 30, decode)).toBe(p.cell[b]);
    expect(p.cells.internBytes(2, bytes, 0, bytes.length, 121, 30, decode)).not.toBe(p.cell[a]);
    expect(Object.fromEntries(p.countsPerCell())).toEqual({ 'cmcc:460-00-1-1': 1, 'cucc:460-00-1-1': 1 });
    expect(p.cells.relocated).toBe(0);
  });

  it.each([
    { what: 'the same position', east: 0, same: true },
    { what: 'a few metres off (within the bound)', east: 60, same: true },
    { what: 'more than the bound away', east: 150, same: false },
    { what: 'kilometres away', east: 2_200, same: false },
  ])("takes an event at $what as the known cell, else as a cell of its own at the event's position", ({ east, same }) => {
    const p = new Presence({ cellMoveBoundM: 100 });
    const known = p.cells.intern(0, 'x', 120, 30);
    const lng = 120 + east / (111_195 * Math.cos((30 * Math.PI) / 180));
    const c = p.cells.intern(0, 'x', lng, 30);
    expect(c === known).toBe(same);
    expect(p.cells.relocated).toBe(same ? 0 : 1);
    // The new position is remembered: a second event there is the same cell and not counted again.
    expect(p.cells.intern(0, 'x', lng, 30)).toBe(c);
    expect(p.cells.intern(0, 'x', 120, 30)).toBe(known);
    expect(p.cells.relocated).toBe(same ? 0 : 1);
    expect(p.cells.ids[c]).toBe('x');
  });
});

describe('the language of a person’s profile (#21)', () => {
  it('keeps the language an event names, through events that name none, by object or by coded fields', () => {
    const p = new Presence({ capacity: 4 });
    const a = p.apply(ev('13800000001', 'c1', 1_000_000, { lang: 'ja' }));
    p.apply(ev('13800000001', 'c2', 1_060_000));
    expect(p.profile(a).lang).toBe('ja');
    const b = p.applyCoded(13800000002, 0, 1_000_000, NO_CELL, 0, 255, -1, p.lang[a]);
    p.applyCoded(13800000002, 0, 1_060_000, NO_CELL, 0, 255, -1);
    expect(p.profile(b).lang).toBe('ja');
    expect(p.profile(p.apply(ev('13800000003', 'c1', 1_000_000))).lang).toBeUndefined();
  });

  it('costs one byte a subscriber', () => {
    const p = new Presence({ capacity: 1024 });
    for (let k = 0; k < 1000; k++) p.apply(ev(String(13800000000 + k), 'c1', 1_000_000, { lang: 'en' }));
    expect(p.lang.BYTES_PER_ELEMENT).toBe(1);
    expect(p.lang.length).toBe(p.msisdn.length);
  });
});
