/**
 * The wire layer CMPP, SMGP and SGIP share: big-endian fields (integers, fixed-width NUL-padded
 * Octet Strings), the decode error, and the framing of a TCP stream by the 4-byte length that
 * opens each PDU. The protocols' codecs (`cmpp/codec.ts`, `smgp/codec.ts`, `sgip/codec.ts`) build on it.
 */

export const HEADER_LENGTH = 12;
/** Longest PDU taken (a SUBMIT to 100 numbers with 255 bytes of text is ~3.5 KB). */
export const MAX_PDU_LENGTH = 8192;

export class CmppDecodeError extends Error {}

/** Big-endian field writer (shared with the SMGP and SGIP codecs). */
export class Writer {
  private buf: Buffer;
  private at = 0;
  constructor(size = 256) {
    this.buf = Buffer.alloc(size);
  }
  private room(n: number) {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  u8(n: number) {
    this.room(1);
    this.buf.writeUInt8(n & 0xff, this.at++);
  }
  u16(n: number) {
    this.room(2);
    this.buf.writeUInt16BE(n & 0xffff, this.at);
    this.at += 2;
  }
  u32(n: number) {
    this.room(4);
    this.buf.writeUInt32BE(n >>> 0, this.at);
    this.at += 4;
  }
  u64(n: bigint) {
    this.room(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, n), this.at);
    this.at += 8;
  }
  /** Fixed-width Octet String: ASCII, NUL-padded; longer values are an error, not cut. */
  str(s: string, width: number, field: string) {
    const b = Buffer.from(s, 'latin1');
    if (b.length > width) throw new RangeError(`CMPP ${field}: "${s}" is longer than ${width} bytes`);
    this.bytes(b);
    this.room(width - b.length);
    this.at += width - b.length; // the buffer is zero-filled
  }
  bytes(b: Uint8Array) {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/** Big-endian field reader (shared with the SMGP and SGIP codecs). */
export class Reader {
  at = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}
  private need(n: number) {
    if (this.at + n > this.buf.length)
      throw new CmppDecodeError(`CMPP ${this.what}: body too short (${this.buf.length} bytes, field at ${this.at} needs ${n})`);
  }
  u8() {
    this.need(1);
    return this.buf.readUInt8(this.at++);
  }
  u16() {
    this.need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  get left() {
    return this.buf.length - this.at;
  }
  u32() {
    this.need(4);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  u64() {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    return v;
  }
  str(width: number) {
    const b = this.bytes(width);
    const nul = b.indexOf(0);
    return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
  }
  bytes(n: number) {
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}

/**
 * Splits a TCP stream into whole PDUs. A Total_Length below 12 or above {@link MAX_PDU_LENGTH}
 * cannot be resynchronised: `push` throws {@link CmppDecodeError} and the link must be dropped.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Buffer[] = [];
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (len < HEADER_LENGTH || len > MAX_PDU_LENGTH)
        throw new CmppDecodeError(`CMPP Total_Length ${len} out of range (12 to ${MAX_PDU_LENGTH})`);
      if (buf.length - at < len) break;
      out.push(buf.subarray(at, at + len));
      at += len;
    }
    buf = buf.subarray(at);
    this.chunks = buf.length ? [buf] : [];
    this.size = buf.length;
    return out;
  }
}
