/**
 * ClickHouse's Native input format, one block: the columns one after another, each as its
 * fixed-width little-endian values (`INSERT INTO t FORMAT Native`, over HTTP; 18.16 and current
 * releases read it the same way: no block info at protocol revision 0).
 *
 * Why not RowBinary for the big writes: the sink's rows are gathered from typed arrays, and a
 * column is one typed-array copy, where a row format needs nine unaligned writes per row (the
 * checkpoint rows cost ~0.9 µs each that way, ~0.15 µs as columns); the server also reads columns
 * with a copy instead of parsing rows.
 *
 * ```
 * VarUInt columns, VarUInt rows, then per column: String name, String type, rows × value
 * ```
 */
export type NativeType = 'UInt8' | 'UInt32' | 'DateTime' | 'UInt64';

/** One column: UInt64 values as (low, high) 32-bit halves, two slots per row. */
export interface NativeColumn {
  name: string;
  type: NativeType;
  data: Uint8Array | Uint32Array;
}

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('the Native writer assumes a little-endian host');

const WIDTH: Record<NativeType, number> = { UInt8: 1, UInt32: 4, DateTime: 4, UInt64: 8 };

function varUInt(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function str(out: number[], s: string): void {
  varUInt(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

/** The bytes of one Native block of `rows` rows (each column's data holds at least that many values). */
export function nativeBlock(rows: number, columns: readonly NativeColumn[]): Buffer {
  const head: number[] = [];
  varUInt(head, columns.length);
  varUInt(head, rows);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const c of columns) {
    const h: number[] = [];
    str(h, c.name);
    str(h, c.type);
    const bytes = rows * WIDTH[c.type];
    if (c.data.byteLength < bytes) throw new RangeError(`column ${c.name}: ${c.data.byteLength} bytes for ${rows} rows of ${c.type}`);
    const hb = Uint8Array.from(h);
    const data = new Uint8Array(c.data.buffer, c.data.byteOffset, bytes);
    parts.push(hb, data);
    size += hb.length + bytes;
  }
  const out = Buffer.allocUnsafe(head.length + size);
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Sets row `k` of a UInt64 column (two 32-bit slots per row) from a JS integer below 2⁵³. */
export function setU64(col: Uint32Array, k: number, v: number): void {
  col[2 * k] = v >>> 0;
  col[2 * k + 1] = (v / 4294967296) >>> 0;
}

/**
 * Rows collected as Native columns in typed arrays that grow by doubling; `take()` makes the block
 * and starts again in the same arrays (the block is a copy).
 */
export class NativeColumns {
  rows = 0;
  /** Per column: its values (UInt64 as two slots per row). */
  data: (Uint8Array | Uint32Array)[];
  private capacity: number;

  constructor(
    readonly schema: readonly { name: string; type: NativeType }[],
    capacity = 4096,
  ) {
    this.capacity = capacity;
    this.data = schema.map((c) => NativeColumns.alloc(c.type, capacity));
  }

  /** Makes room for `n` more rows. */
  reserve(n: number): void {
    if (this.rows + n <= this.capacity) return;
    let cap = this.capacity * 2;
    while (cap < this.rows + n) cap *= 2;
    this.data = this.data.map((old, i) => {
      const next = NativeColumns.alloc(this.schema[i]!.type, cap);
      next.set(old);
      return next;
    });
    this.capacity = cap;
  }

  take(): { bytes: Buffer; rows: number } {
    const rows = this.rows;
    const bytes = nativeBlock(
      rows,
      this.schema.map((c, i) => ({ ...c, data: this.data[i]! })),
    );
    this.rows = 0;
    return { bytes, rows };
  }

  private static alloc(type: NativeType, rows: number): Uint8Array | Uint32Array {
    return type === 'UInt8' ? new Uint8Array(rows) : new Uint32Array(type === 'UInt64' ? 2 * rows : rows);
  }
}
