import { describe, expect, it } from 'vitest';
import { NO_CELL, Presence, type PresenceEvent } from './presence.ts';
import { SubscriberIndex } from './subscriber-index.ts';

const ev = (msisdn: string, cell: string, ts: number, over: Partial<PresenceEvent> = {}): PresenceEvent => ({ msisdn, carrier: 'cmcc', ts, cell, lat: 30, lng: 120, kind: 'periodic', ...over });

describe('SubscriberIndex', () => {
  it('maps a million numbers to their indexes through growth', () => {
    const idx = new SubscriberIndex(16);
    for (let i = 0; i < 1_000_000; i++) idx.set(13_000_000_000 + i * 7, i);
    for (let i = 0; i < 1_000_000; i += 997) expect(idx.get(13_000_000_000 + i * 7)).toBe(i);
    expect(idx.get(13_000_000_001)).toBe(-1);
    expect(idx.size).toBe(1_000_000);
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
    expect(Object.fromEntries(p.countsPerCell())).toEqual({ c1: 1, c2: 1 });
  });

  it('ignores an event older than the one applied (replay and redelivery are harmless)', () => {
    const p = new Presence();
    const a = p.apply(ev('13800000001', 'c2', 2_000_000));
    p.apply(ev('13800000001', 'c1', 1_000_000));
    expect(p.cells.ids[p.cell[a]]).toBe('c2');
    expect(Object.fromEntries(p.countsPerCell())).toEqual({ c2: 1 });
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
    const ids = Array.from({ length: 20_000 }, (_, k) => (k % 7 === 0 ? `小区-${k}-東` : k % 11 === 0 ? `c😀${k}` : `460-00-${100000 + k}-1`));
    const bytesOf = (id: string) => new Uint8Array(Buffer.from(`xx${id}`, 'utf8'));
    const decode = (b: Uint8Array, at: number, len: number) => Buffer.from(b.buffer, b.byteOffset + at, len).toString('utf8');
    // Even ids by string first, odd ones by bytes first; then every one both ways.
    const want = ids.map((id, k) => (k % 2 ? p.cells.internBytes(bytesOf(id), 2, bytesOf(id).length - 2, 120, 30, decode) : p.cells.intern(id, 120, 30)));
    expect(new Set(want).size).toBe(ids.length);
    ids.forEach((id, k) => {
      const b = bytesOf(id);
      expect(p.cells.internBytes(b, 2, b.length - 2, 0, 0, decode)).toBe(want[k]);
      expect(p.cells.intern(id, 0, 0)).toBe(want[k]);
      expect(p.cells.ids[want[k]]).toBe(id);
      const { arena, at, len } = p.cells.idBytes(want[k]);
      expect(Buffer.from(arena.subarray(at, at + len)).toString('utf8')).toBe(id);
    });
    expect(p.cells.size).toBe(ids.length);
  });
});
