import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CARRIERS, EVENT_KINDS, LANGUAGES, LocationEvent } from '../contract.ts';
import {
  LocationBatchBuilder,
  LocationDecodeError,
  columnsToEvents,
  decodeLocationColumns,
  decodeLocationMessage,
  encodeLocationBatch,
  isBinaryLocationMessage,
} from './location-codec.ts';

const event = fc.record(
  {
    msisdn: fc
      .tuple(fc.integer({ min: 3, max: 9 }), fc.integer({ min: 0, max: 999_999_999 }))
      .map(([d, r]) => `1${d}${String(r).padStart(9, '0')}`),
    carrier: fc.constantFrom(...CARRIERS),
    ts: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    // Unicode ids, including astral characters, up to the contract's 64 UTF-16 units.
    cell: fc.oneof(
      fc.constantFrom('460-00-100001-1', 'c1', 'c2'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).filter((s) => s.length <= 64),
    ),
    lat: fc.double({ min: -90, max: 90, noNaN: true }),
    lng: fc.double({ min: -180, max: 180, noNaN: true }),
    kind: fc.constantFrom(...EVENT_KINDS),
    gender: fc.constantFrom('m' as const, 'f' as const),
    age: fc.integer({ min: 0, max: 120 }),
    home: fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, '0')),
    lang: fc.constantFrom(...LANGUAGES),
  },
  { requiredKeys: ['msisdn', 'carrier', 'ts', 'cell', 'lat', 'lng', 'kind'] },
);

/** -0 and 0 are the same position; toEqual tells them apart. */
const norm = (events: LocationEvent[]) => events.map((e) => ({ ...e, lat: e.lat + 0, lng: e.lng + 0 }));

describe('binary LOCATION batch', () => {
  it('round-trips any contract events exactly (unicode cell ids, optional fields absent)', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 60 }), (events) => {
        const bytes = encodeLocationBatch(events);
        expect(isBinaryLocationMessage(bytes)).toBe(true);
        const back = decodeLocationMessage(bytes);
        expect(norm(back)).toEqual(norm(events));
        // Absent optional fields stay absent (not present as undefined).
        back.forEach((e, i) =>
          expect(Object.keys(e).sort()).toEqual(
            Object.keys(events[i])
              .filter((k) => events[i][k as keyof LocationEvent] !== undefined)
              .sort(),
          ),
        );
        for (const e of back) expect(LocationEvent.safeParse(e).success).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads the same from an unaligned copy (the transport hands out slices of its buffers)', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 7 }), (events, shift) => {
        const bytes = encodeLocationBatch(events);
        const host = new Uint8Array(bytes.length + shift);
        host.set(bytes, shift);
        expect(norm(decodeLocationMessage(host.subarray(shift)))).toEqual(norm(events));
      }),
      { numRuns: 100 },
    );
  });

  it('keeps one dictionary entry per cell and position, and a cell seen at two positions twice', () => {
    const e = (cell: string, lat: number): LocationEvent => ({
      msisdn: '13800000000',
      carrier: 'cmcc',
      ts: 1,
      cell,
      lat,
      lng: 120,
      kind: 'periodic',
    });
    const b = new LocationBatchBuilder(10);
    for (const x of [e('a', 30), e('b', 30), e('a', 30), e('a', 31), e('a', 31), e('a', 30)]) b.add(x);
    const cols = b.columns();
    expect(cols.cellIds).toEqual(['a', 'b', 'a']);
    expect(Array.from(cols.place)).toEqual([0, 1, 0, 2, 2, 0]);
    const bytes = b.encode();
    expect(b.count).toBe(0);
    expect(decodeLocationMessage(bytes).map((x) => [x.cell, x.lat])).toEqual([
      ['a', 30],
      ['b', 30],
      ['a', 30],
      ['a', 31],
      ['a', 31],
      ['a', 30],
    ]);
  });

  it('is far smaller than the JSON batch', () => {
    const events: LocationEvent[] = Array.from({ length: 500 }, (_, i) => ({
      msisdn: `1380000${String(i).padStart(4, '0')}`,
      carrier: 'cmcc',
      ts: 1_790_000_000_000 + i,
      cell: `460-00-${100000 + (i % 300)}-1`,
      lat: 30.12345,
      lng: 120.12345,
      kind: 'periodic',
      gender: 'f',
      age: 33,
      home: '330106',
    }));
    const json = Buffer.byteLength(JSON.stringify({ v: 1, events }));
    const bin = encodeLocationBatch(events).length;
    expect(bin * 3).toBeLessThan(json);
  });

  it('decodes JSON batches too, as columns with every event checked', () => {
    const events: LocationEvent[] = [
      { msisdn: '13800000001', carrier: 'cucc', ts: 5, cell: '小区-1', lat: 30, lng: 120, kind: 'attach', home: '010101' },
      { msisdn: '13800000002', carrier: 'ctcc', ts: 6, cell: 'x', lat: -1.5, lng: 2.25, kind: 'detach', gender: 'f', age: 0 },
    ];
    const data = Buffer.from(JSON.stringify({ v: 1, events }));
    expect(decodeLocationMessage(data)).toEqual(events);
    expect(columnsToEvents(decodeLocationColumns(data))).toEqual(events);
    const bad = Buffer.from(JSON.stringify({ v: 1, events: [{ ...events[0], ts: 'soon' }] }));
    expect(() => decodeLocationColumns(bad)).toThrow(/event 0: ts/);
  });

  it('refuses malformed messages with a reason, never a crash or garbage', () => {
    const good = encodeLocationBatch([{ msisdn: '13800000001', carrier: 'cmcc', ts: 5, cell: 'c1', lat: 30, lng: 120, kind: 'attach' }]);
    const reason = (data: Uint8Array) => {
      try {
        decodeLocationColumns(data);
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(LocationDecodeError);
        return (err as Error).message;
      }
    };
    expect(reason(Buffer.from('{"v":1,"events":['))).toMatch(/^not valid JSON/);
    expect(reason(Buffer.from('["x"]'))).toMatch(/^not a LocationBatch/);
    expect(reason(good.subarray(0, 10))).toMatch(/shorter than the header/);
    expect(reason(good.subarray(0, good.length - 1))).toMatch(/cell id|too short/);
    expect(reason(Buffer.concat([good, Buffer.from([1])]))).toMatch(/after the last cell id/);
    const v3 = Buffer.from(good);
    v3[4] = 3;
    expect(reason(v3)).toMatch(/version 3, expected 1 or 2/);
    const huge = Buffer.from(good);
    huge.writeUInt32LE(4_000_000_000, 8);
    expect(reason(huge)).toMatch(/events, expected/);
    // Every corruption of every single byte is either refused with a reason or decodes to contract-valid events.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const b = Buffer.from(good);
        b[at] = value;
        const r = reason(b);
        if (r === 'accepted') for (const e of decodeLocationMessage(b)) expect(LocationEvent.safeParse(e).success).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses to encode what consumers would refuse', () => {
    const b = new LocationBatchBuilder(2);
    expect(() => b.addFields(12345, 0, 1, 'c', 0, 0, 0, 0, 255, -1)).toThrow(RangeError);
    expect(() => b.addFields(13800000000, 0, 1, 'c', 91, 0, 0, 0, 255, -1)).toThrow(RangeError);
    expect(() => b.addFields(13800000000, 0, 1, 'c', 0, 0, 0, 0, 121, -1)).toThrow(RangeError);
    expect(() => b.encode()).toThrow(/empty/);
  });
});

describe('the language of a number’s profile in a binary batch (#21)', () => {
  const base: LocationEvent = { msisdn: '13800000001', carrier: 'cmcc', ts: 5, cell: 'c1', lat: 30, lng: 120, kind: 'attach' };

  it('writes a batch without languages as version 1, byte for byte as before, and one with a language as version 2', () => {
    const plain = encodeLocationBatch([base, { ...base, msisdn: '13800000002' }]);
    const withLang = encodeLocationBatch([base, { ...base, msisdn: '13800000002', lang: 'en' }]);
    expect(plain[4]).toBe(1);
    expect(withLang[4]).toBe(2);
    // One byte per event more (before the 8-byte alignment of the buffer's end).
    expect(withLang.length - plain.length).toBe(2);
    expect(decodeLocationMessage(withLang).map((e) => e.lang)).toEqual([undefined, 'en']);
    expect(Array.from(decodeLocationColumns(withLang).lang)).toEqual([0, LANGUAGES.indexOf('en') + 1]);
  });

  it('still decodes a version 1 batch written before languages existed (bytes kept from the old encoder)', () => {
    // The encoder's bytes before #21's lang column (version 1): two events, the second without a profile.
    const old = Buffer.from(
      'R0xPQwEAAAACAAAAAQAAAAAAAAAAAAAAAAAIUFq0CUIAABBYCeQJQgAAwAZFDHpCABDABkUMekIAAAAAAEA+QAAAAAAAIF5AAAAAAAAAAAB6CQUA/////wAAAAICACH/CjQ2MC0wMC0xLTE=',
      'base64',
    );
    expect(decodeLocationMessage(old)).toEqual([
      {
        msisdn: '13800000001',
        carrier: 'cmcc',
        ts: 1_790_000_000_000,
        cell: '460-00-1-1',
        lat: 30.25,
        lng: 120.5,
        kind: 'attach',
        gender: 'f',
        age: 33,
        home: '330106',
      },
      { msisdn: '13900000002', carrier: 'cmcc', ts: 1_790_000_000_001, cell: '460-00-1-1', lat: 30.25, lng: 120.5, kind: 'periodic' },
    ]);
    expect(Array.from(decodeLocationColumns(old).lang)).toEqual([0, 0]);
    // What the encoder writes today for the same events is those very bytes.
    expect(encodeLocationBatch(decodeLocationMessage(old)).equals(old)).toBe(true);
  });

  it('refuses a language byte outside the table, and a JSON event or an event to encode with an unknown code', () => {
    const bytes = Buffer.from(encodeLocationBatch([{ ...base, lang: 'zh' }]));
    // The lang column sits right after the age column: header, 28 bytes per event, 16 per place.
    bytes[24 + 28 + 16] = LANGUAGES.length + 1;
    expect(() => decodeLocationColumns(bytes)).toThrow(/event 0: lang/);
    const json = Buffer.from(JSON.stringify({ v: 1, events: [{ ...base, lang: 'xx' }] }));
    expect(() => decodeLocationColumns(json)).toThrow(/event 0: lang/);
    expect(() => encodeLocationBatch([{ ...base, lang: 'xx' }])).toThrow(RangeError);
    expect(LocationEvent.safeParse({ ...base, lang: 'xx' }).success).toBe(false);
    expect(LocationEvent.safeParse({ ...base, lang: 'en' }).success).toBe(true);
  });
});
