import { CARRIERS } from '@geo/ingest';
import type { Move } from '../contract.ts';
import type { CellTable } from '../presence/presence.ts';

/**
 * The binary MOVES batch (alerting's moves contract, next to the JSON `MoveBatch`): columns, cell
 * ids once per message. Building a JSON object per move and stringifying it cost ~15 % of
 * alerting's CPU. Readers accept both: a message starting with `GMOV` is binary, else the JSON
 * `{"v":1,"moves":[…]}`. Little-endian.
 *
 * ```
 * off  size          field
 * 0    4             magic "GMOV"
 * 4    1             version (1)
 * 5    3             zero
 * 8    4   u32       count: moves (≥ 1)
 * 12   4   u32       places: dictionary entries (cell id + position)
 * 16   8             zero
 * 24   8·count f64   msisdn as a number
 *      8·count f64   ts, epoch ms
 *      8·places f64  lat of each place
 *      8·places f64  lng of each place
 *      4·count i32   from: place, −1 = null (not present before)
 *      4·count i32   to: place, −1 = null (left)
 *      4·count i32   home (GB/T 2260 code as a number), −1 when unknown
 *      count   u8    carrier (index in CARRIERS)
 *      count   u8    gender: 0 unknown, 1 m, 2 f
 *      count   u8    age, 255 when unknown
 *      per place: u8 byte length, UTF-8 cell id; the message ends after the last one
 * ```
 * A move's `lat`/`lng` are the position of `to` (of `from` when `to` is null).
 */
export const MOVES_BINARY_MAGIC = 'GMOV';
const MAGIC = [0x47, 0x4d, 0x4f, 0x56] as const;
const HEADER = 24;
const GENDERS = [undefined, 'm', 'f'] as const;

export class MoveDecodeError extends Error {
  override name = 'MoveDecodeError';
}

const isBinary = (d: Uint8Array) => d.length >= 4 && d[0] === MAGIC[0] && d[1] === MAGIC[1] && d[2] === MAGIC[2] && d[3] === MAGIC[3];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Collects moves by coded fields (the engine's presence indexes: cells are CellTable indexes) and
 * writes one binary batch per {@link encode}. Cell ids are encoded once per cell and kept.
 */
export class MoveBatchWriter {
  count = 0;
  private cap = 1024;
  private msisdn = new Float64Array(this.cap);
  private ts = new Float64Array(this.cap);
  private from = new Int32Array(this.cap);
  private to = new Int32Array(this.cap);
  private home = new Int32Array(this.cap);
  private carrier = new Uint8Array(this.cap);
  private gender = new Uint8Array(this.cap);
  private age = new Uint8Array(this.cap);
  /** Per global cell: its place in the message being written (valid when stamp = generation). */
  private stamp = new Int32Array(1024);
  private local = new Int32Array(1024);
  private generation = 1;
  private used: number[] = [];

  constructor(private readonly cells: CellTable) {}

  add(msisdn: number, carrier: number, ts: number, from: number, to: number, gender: number, age: number, home: number): void {
    const i = this.count;
    if (i === this.cap) this.grow();
    this.msisdn[i] = msisdn;
    this.ts[i] = ts;
    this.from[i] = from < 0 ? -1 : this.placeOf(from);
    this.to[i] = to < 0 ? -1 : this.placeOf(to);
    this.home[i] = home > 0 ? home : -1;
    this.carrier[i] = carrier;
    this.gender[i] = gender;
    this.age[i] = age;
    this.count = i + 1;
  }

  private placeOf(c: number): number {
    if (c >= this.stamp.length) {
      const n = Math.max(this.stamp.length * 2, c + 1);
      const s = new Int32Array(n), l = new Int32Array(n);
      s.set(this.stamp);
      l.set(this.local);
      this.stamp = s;
      this.local = l;
    }
    if (this.stamp[c] === this.generation) return this.local[c];
    this.stamp[c] = this.generation;
    this.local[c] = this.used.length;
    this.used.push(c);
    return this.used.length - 1;
  }

  private grow(): void {
    const n = this.cap * 2;
    const g = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.msisdn = g(this.msisdn);
    this.ts = g(this.ts);
    this.from = g(this.from);
    this.to = g(this.to);
    this.home = g(this.home);
    this.carrier = g(this.carrier);
    this.gender = g(this.gender);
    this.age = g(this.age);
    this.cap = n;
  }

  /** Writes the moves collected (at least one) and starts the next batch. */
  encode(): Buffer {
    const n = this.count, used = this.used, places = used.length;
    if (n === 0) throw new RangeError('no moves');
    let idLen = 0;
    for (let k = 0; k < places; k++) idLen += 1 + this.cells.idBytes(used[k]).len;
    const out = Buffer.allocUnsafe(HEADER + 31 * n + 16 * places + idLen);
    out.fill(0, 0, HEADER);
    out.set(MAGIC, 0);
    out[4] = 1;
    out.writeUInt32LE(n, 8);
    out.writeUInt32LE(places, 12);
    let off = HEADER;
    off = put(out, off, this.msisdn, 8 * n);
    off = put(out, off, this.ts, 8 * n);
    const pos = new Float64Array(places);
    const { lat, lng } = this.cells;
    for (let k = 0; k < places; k++) pos[k] = lat[used[k]];
    off = put(out, off, pos, 8 * places);
    for (let k = 0; k < places; k++) pos[k] = lng[used[k]];
    off = put(out, off, pos, 8 * places);
    off = put(out, off, this.from, 4 * n);
    off = put(out, off, this.to, 4 * n);
    off = put(out, off, this.home, 4 * n);
    off = put(out, off, this.carrier, n);
    off = put(out, off, this.gender, n);
    off = put(out, off, this.age, n);
    for (let k = 0; k < places; k++) {
      const { arena, at, len } = this.cells.idBytes(used[k]);
      out[off++] = len;
      for (let j = 0; j < len; j++) out[off + j] = arena[at + j];
      off += len;
    }
    this.count = 0;
    this.used = [];
    this.generation++;
    return out;
  }
}

function put(out: Uint8Array, off: number, a: ArrayBufferView, len: number): number {
  out.set(new Uint8Array(a.buffer, a.byteOffset, len), off);
  return off + len;
}

/** The moves of a MOVES message, binary or JSON; throws {@link MoveDecodeError} when it is neither. */
export function decodeMoveMessage(data: Uint8Array): Move[] {
  if (!isBinary(data)) {
    let b: { v?: unknown; moves?: unknown };
    try {
      b = JSON.parse(new TextDecoder().decode(data));
    } catch (err) {
      throw new MoveDecodeError(`not valid JSON: ${(err as Error).message}`);
    }
    if (b?.v !== 1 || !Array.isArray(b.moves)) throw new MoveDecodeError('not a MoveBatch: expected {"v":1,"moves":[…]}');
    return b.moves as Move[];
  }
  const bad = (why: string): never => {
    throw new MoveDecodeError(`not a MOVES binary batch: ${why}`);
  };
  if (data.length < HEADER || data[4] !== 1) bad('short header or unknown version');
  const bytes = data.byteOffset % 8 === 0 ? data : new Uint8Array(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(8, true), places = view.getUint32(12, true);
  if (n < 1 || places > 2 * n || bytes.length < HEADER + 31 * n + 16 * places + 2 * places) bad(`${n} moves and ${places} places in ${bytes.length} bytes`);
  let off = bytes.byteOffset + HEADER;
  const buf = bytes.buffer;
  const msisdn = new Float64Array(buf, off, n);
  const ts = new Float64Array(buf, (off += 8 * n), n);
  const lat = new Float64Array(buf, (off += 8 * n), places);
  const lng = new Float64Array(buf, (off += 8 * places), places);
  const from = new Int32Array(buf, (off += 8 * places), n);
  const to = new Int32Array(buf, (off += 4 * n), n);
  const home = new Int32Array(buf, (off += 4 * n), n);
  const carrier = new Uint8Array(buf, (off += 4 * n), n);
  const gender = new Uint8Array(buf, (off += n), n);
  const age = new Uint8Array(buf, (off += n), n);
  let p = off + n - bytes.byteOffset;
  const ids: string[] = [];
  for (let k = 0; k < places; k++) {
    const len = bytes[p++];
    if (!len || p + len > bytes.length) bad(`cell id ${k} runs past the end`);
    try {
      ids.push(utf8.decode(bytes.subarray(p, p + len)));
    } catch {
      bad(`cell id ${k} is not UTF-8`);
    }
    p += len;
  }
  if (p !== bytes.length) bad('bytes after the last cell id');
  const out: Move[] = [];
  for (let i = 0; i < n; i++) {
    const f = from[i], t = to[i], at = t >= 0 ? t : f;
    if (f >= places || t >= places || at < 0 || f < -1 || t < -1 || carrier[i] >= CARRIERS.length || gender[i] > 2) bad(`move ${i} is out of range`);
    const m: Move = { msisdn: String(msisdn[i]), carrier: CARRIERS[carrier[i]], from: f < 0 ? null : ids[f], to: t < 0 ? null : ids[t], ts: ts[i], lat: lat[at], lng: lng[at] };
    if (gender[i]) m.gender = GENDERS[gender[i]];
    if (age[i] !== 255) m.age = age[i];
    if (home[i] >= 0) m.home = String(home[i]).padStart(6, '0');
    out.push(m);
  }
  return out;
}
