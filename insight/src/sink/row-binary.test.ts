import { describe, expect, it } from 'vitest';
import { h3Halves, RowBinaryWriter } from './row-binary.ts';

describe('RowBinaryWriter', () => {
  it('writes little-endian fixed-width values and length-prefixed UTF-8 strings', () => {
    const w = new RowBinaryWriter(4);
    w.row().u8(7).u32(0xdeadbeef).u64(13_900_000_123).u64hl(0x0893_0e0c, 0x2fff_ffff).f64(30.25).str('杭州-1');
    const { bytes, rows } = w.take();
    expect(rows).toBe(1);
    expect(bytes[0]).toBe(7);
    expect(bytes.readUInt32LE(1)).toBe(0xdeadbeef);
    expect(bytes.readBigUInt64LE(5)).toBe(13_900_000_123n);
    expect(bytes.readBigUInt64LE(13)).toBe(0x0893_0e0c_2fff_ffffn);
    expect(bytes.readDoubleLE(21)).toBe(30.25);
    const len = Buffer.byteLength('杭州-1');
    expect(bytes[29]).toBe(len);
    expect(bytes.subarray(30).toString()).toBe('杭州-1');
    expect(w.take().bytes.length).toBe(0);
  });

  it('writes the largest safe integer exactly, and long strings with a multi-byte length', () => {
    const w = new RowBinaryWriter(8);
    w.u64(2 ** 53 - 1).str('x'.repeat(300));
    const { bytes } = w.take();
    expect(bytes.readBigUInt64LE(0)).toBe(2n ** 53n - 1n);
    expect([bytes[8], bytes[9]]).toEqual([(300 & 0x7f) | 0x80, 300 >> 7]);
    expect(bytes.length).toBe(8 + 2 + 300);
  });

  it('splits an H3 index into halves', () => {
    const h = '8930e1ca1a3ffff';
    const [hi, lo] = h3Halves(h);
    expect((BigInt(hi) << 32n) | BigInt(lo)).toBe(BigInt(`0x${h}`));
  });
});
