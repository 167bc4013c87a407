/**
 * ClickHouse's RowBinary input format, written straight into a growing Buffer: no per-row strings
 * or objects, and nothing for the server to parse but fixed-width little-endian values. Supported
 * by 18.16 and current releases (`INSERT INTO t FORMAT RowBinary`).
 *
 * Columns are written in table order: UInt8/UInt32 as 1/4 bytes, UInt64 as 8 (from a JS integer
 * below 2⁵³, or from two 32-bit halves for H3 indexes), Float64 as 8, DateTime as UInt32 seconds,
 * String as a LEB128 length and UTF-8 bytes.
 */
export class RowBinaryWriter {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;
  /** Rows written since the last `take()` (the caller counts them with `row()`). */
  rows = 0;

  constructor(private capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get length(): number {
    return this.pos;
  }

  /**
   * Starts a row. `maxBytes` (the row's size at most, when known) reserves room once, so that the
   * fixed-width writes after it need no check of their own on the sink's hot path.
   */
  row(maxBytes = 0): this {
    this.rows++;
    if (maxBytes > 0) this.ensure(maxBytes);
    return this;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
    return this;
  }

  /** A UInt64 from a non-negative JS integer (exact below 2⁵³). */
  u64(v: number): this {
    this.ensure(8);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.view.setUint32(this.pos + 4, (v / 4294967296) >>> 0, true);
    this.pos += 8;
    return this;
  }

  /** A UInt64 from its high and low 32-bit halves (e.g. an H3 index). */
  u64hl(hi: number, lo: number): this {
    this.ensure(8);
    this.view.setUint32(this.pos, lo >>> 0, true);
    this.view.setUint32(this.pos + 4, hi >>> 0, true);
    this.pos += 8;
    return this;
  }

  f64(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  str(s: string): this {
    const n = Buffer.byteLength(s);
    this.ensure(n + 5);
    let len = n;
    while (len >= 0x80) {
      this.buf[this.pos++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    this.buf[this.pos++] = len;
    this.pos += this.buf.write(s, this.pos);
    return this;
  }

  /**
   * The bytes written so far, and a reset. No copy: the writer continues in a fresh buffer of the
   * size this one reached, so the bytes handed out stay valid while an insert streams them.
   */
  take(): { bytes: Buffer; rows: number } {
    const out = { bytes: this.buf.subarray(0, this.pos), rows: this.rows };
    if (this.pos > 0) this.fresh(Math.max(this.capacity, this.buf.length));
    this.pos = 0;
    this.rows = 0;
    return out;
  }

  private fresh(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const old = this.buf;
    this.fresh(size);
    old.copy(this.buf, 0, 0, this.pos);
  }
}

/** The two 32-bit halves of a 64-bit H3 index given in hex (h3-js's form). */
export function h3Halves(h3: string): [hi: number, lo: number] {
  return [parseInt(h3.slice(0, -8) || '0', 16), parseInt(h3.slice(-8), 16)];
}
