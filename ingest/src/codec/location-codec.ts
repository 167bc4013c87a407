import { CARRIERS, EVENT_KINDS, type LocationEvent } from '../contract.ts';
import { MSISDN } from '@geo/infra/basics';

/**
 * The binary LOCATION batch (part of the ingest contract, next to the JSON `LocationBatch`).
 *
 * JSON costs consumers most of their time (parse + UTF-8 decode + one object per event: ~40 % of
 * alerting's CPU at 39k events/s). This format is columnar and fixed-width, so a consumer reads it
 * without building per-event objects; strings (cell ids) travel once per message in a dictionary.
 * Consumers accept both: a message starting with the magic `GLOC` is binary, anything else is the
 * JSON `{"v":1,"events":[…]}` (external feeds, older messages). Little-endian throughout.
 *
 * ```
 * off  size         field
 * 0    4            magic "GLOC"
 * 4    1            version (1)
 * 5    3            zero
 * 8    4   u32      count: events (1 … 10,000)
 * 12   4   u32      places: dictionary entries (cell id + position), 1 … count
 * 16   8            zero (header is 24 bytes: keeps the f64 columns 8-aligned)
 * 24   8·count f64  msisdn as a number (11 digits are exact in a double)
 *      8·count f64  ts, epoch ms
 *      8·places f64 lat of each place
 *      8·places f64 lng of each place
 *      4·count u32  place of each event
 *      4·count i32  home (GB/T 2260 code as a number), −1 when absent
 *      count   u8   carrier (index in CARRIERS)
 *      count   u8   kind (index in EVENT_KINDS)
 *      count   u8   gender: 0 absent, 1 m, 2 f
 *      count   u8   age, 255 when absent
 *      per place: u8 byte length, UTF-8 cell id; the message ends right after the last one
 * ```
 * About 28 bytes per event plus ~33 per distinct (cell, position) in the message, against ~190
 * bytes of JSON per event.
 */

export const LOCATION_BINARY_MAGIC = 'GLOC';
export const LOCATION_BINARY_VERSION = 1;
const MAGIC = [0x47, 0x4c, 0x4f, 0x43] as const;
const HEADER = 24;
export const MAX_BATCH_EVENTS = 10_000;
export const GENDER_ABSENT = 0;
export const AGE_ABSENT = 255;
export const HOME_ABSENT = -1;
const GENDER_CODES = [undefined, 'm', 'f'] as const;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('the LOCATION binary codec assumes a little-endian host');

/** A decoded batch as columns: read fields by event index, no object per event. */
export interface LocationColumns {
  count: number;
  msisdn: Float64Array;
  ts: Float64Array;
  /** Index into `cellIds` / `lat` / `lng`. */
  place: Uint32Array;
  home: Int32Array;
  carrier: Uint8Array;
  kind: Uint8Array;
  gender: Uint8Array;
  age: Uint8Array;
  /** Per place: the cell id and the cell's position. */
  readonly cellIds: string[];
  lat: Float64Array;
  lng: Float64Array;
  /**
   * Binary batches only: the UTF-8 bytes of place k's id are `idBytes[idAt[k] … idAt[k] + idLen[k])`,
   * so a consumer can look cells up by bytes and make strings only for cells it has not seen
   * (`cellIds` is then built on first use).
   */
  idBytes?: Uint8Array;
  idAt?: Uint32Array;
  idLen?: Uint8Array;
}

/** Why a LOCATION message could not be read; consumers dead-letter the message with `message`. */
export class LocationDecodeError extends Error {
  override name = 'LocationDecodeError';
}

export const isBinaryLocationMessage = (data: Uint8Array): boolean =>
  data.length >= 4 && data[0] === MAGIC[0] && data[1] === MAGIC[1] && data[2] === MAGIC[2] && data[3] === MAGIC[3];

const align = (n: number, a: number) => (n + a - 1) & ~(a - 1);
const bad = (why: string): never => {
  throw new LocationDecodeError(`not a LOCATION binary batch: ${why}`);
};
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a binary batch; throws {@link LocationDecodeError} on anything malformed. Zero-copy when the bytes are 8-aligned. */
export function decodeBinaryColumns(data: Uint8Array): LocationColumns {
  if (!isBinaryLocationMessage(data)) bad('no GLOC magic');
  if (data.length < HEADER) bad(`${data.length} bytes, shorter than the header`);
  if (data[4] !== LOCATION_BINARY_VERSION) bad(`version ${data[4]}, expected ${LOCATION_BINARY_VERSION}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = view.getUint32(8, true);
  const places = view.getUint32(12, true);
  if (n < 1 || n > MAX_BATCH_EVENTS) bad(`${n} events, expected 1 to ${MAX_BATCH_EVENTS}`);
  if (places < 1 || places > n) bad(`${places} places for ${n} events`);
  const fixed = HEADER + 28 * n + 16 * places;
  if (data.length < fixed + places * 2) bad(`${data.length} bytes, too short for ${n} events and ${places} places`);
  // Typed-array views need aligned offsets; the transport's buffers may not be: copy once then.
  let bytes = data;
  if (data.byteOffset % 8 !== 0) {
    bytes = new Uint8Array(data.length);
    bytes.set(data);
  }
  const buf = bytes.buffer,
    base = bytes.byteOffset;
  let off = base + HEADER;
  const msisdn = new Float64Array(buf, off, n);
  const ts = new Float64Array(buf, (off += 8 * n), n);
  const lat = new Float64Array(buf, (off += 8 * n), places);
  const lng = new Float64Array(buf, (off += 8 * places), places);
  const place = new Uint32Array(buf, (off += 8 * places), n);
  const home = new Int32Array(buf, (off += 4 * n), n);
  const carrier = new Uint8Array(buf, (off += 4 * n), n);
  const kind = new Uint8Array(buf, (off += n), n);
  const gender = new Uint8Array(buf, (off += n), n);
  const age = new Uint8Array(buf, (off += n), n);
  off += n;
  const idAt = new Uint32Array(places);
  const idLen = new Uint8Array(places);
  let p = off - base;
  for (let k = 0; k < places; k++) {
    if (p >= bytes.length) bad(`the cell ids end after ${k} of ${places}`);
    const len = bytes[p++];
    if (len === 0 || p + len > bytes.length) bad(`cell id ${k} is empty or runs past the end`);
    idAt[k] = p;
    idLen[k] = len;
    // Checked here so that a consumer reading by bytes never meets invalid UTF-8 later.
    let ascii = true;
    for (let j = p; j < p + len; j++) if (bytes[j] > 0x7e) ascii = false;
    if (!ascii) {
      try {
        utf8.decode(bytes.subarray(p, p + len));
      } catch {
        bad(`cell id ${k} is not UTF-8`);
      }
    }
    p += len;
    const la = lat[k],
      ln = lng[k];
    if (!(la >= -90 && la <= 90 && ln >= -180 && ln <= 180)) bad(`place ${k} has no valid position (${la}, ${ln})`);
  }
  if (p !== bytes.length) bad(`${bytes.length - p} bytes after the last cell id`);
  for (let i = 0; i < n; i++) {
    const m = msisdn[i];
    if (!(m >= 13_000_000_000 && m < 20_000_000_000 && Number.isInteger(m)))
      bad(`event ${i}: msisdn ${m} is not an 11-digit mainland number`);
    const t = ts[i];
    if (!(t > 0 && Number.isSafeInteger(t))) bad(`event ${i}: ts ${t} is not a positive safe integer`);
    if (place[i] >= places) bad(`event ${i}: place ${place[i]} of ${places}`);
    if (carrier[i] >= CARRIERS.length) bad(`event ${i}: carrier ${carrier[i]}`);
    if (kind[i] >= EVENT_KINDS.length) bad(`event ${i}: kind ${kind[i]}`);
    if (gender[i] > 2) bad(`event ${i}: gender ${gender[i]}`);
    if (age[i] > 120 && age[i] !== AGE_ABSENT) bad(`event ${i}: age ${age[i]}`);
    const h = home[i];
    if (h !== HOME_ABSENT && !(h >= 0 && h <= 999_999)) bad(`event ${i}: home ${h}`);
  }
  let cellIds: string[] | undefined;
  return {
    count: n,
    msisdn,
    ts,
    place,
    home,
    carrier,
    kind,
    gender,
    age,
    lat,
    lng,
    idBytes: bytes,
    idAt,
    idLen,
    get cellIds(): string[] {
      if (!cellIds) {
        cellIds = new Array<string>(places);
        for (let k = 0; k < places; k++) cellIds[k] = cellIdOf(bytes, idAt[k], idLen[k]);
      }
      return cellIds;
    },
  };
}

/** A cell id from its UTF-8 bytes (already checked by the decoder). */
export function cellIdOf(bytes: Uint8Array, at: number, len: number): string {
  if (len <= 24) {
    let s = '';
    for (let j = at; j < at + len; j++) {
      const b = bytes[j];
      if (b > 0x7e) return utf8.decode(bytes.subarray(at, at + len));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(at, at + len));
}

const jsonDecoder = new TextDecoder();
const CARRIER_INDEX: Record<string, number> = Object.fromEntries(CARRIERS.map((c, i) => [c, i]));
const KIND_INDEX: Record<string, number> = Object.fromEntries(EVENT_KINDS.map((k, i) => [k, i]));
const HOME = /^\d{6}$/;

/**
 * Parses a JSON LOCATION message into its events without checking each event (the reasons match
 * what consumers have always dead-lettered with). Per-event checks are the caller's.
 */
function parseJsonEvents(data: Uint8Array): LocationEvent[] {
  let batch: { v?: unknown; events?: unknown };
  try {
    batch = JSON.parse(jsonDecoder.decode(data));
  } catch (err) {
    throw new LocationDecodeError(`not valid JSON: ${(err as Error).message}`);
  }
  if (batch?.v !== 1 || !Array.isArray(batch.events)) throw new LocationDecodeError('not a LocationBatch: expected {"v":1,"events":[…]}');
  return batch.events as LocationEvent[];
}

/**
 * The events of a LOCATION message, binary or JSON. Binary events are checked whole by the decoder;
 * JSON events are returned as published (the producer validated them against `LocationEvent`; check
 * the fields you rely on). Throws {@link LocationDecodeError} for a message that is neither.
 * `headers` is accepted for future formats and not needed today (the magic tells them apart).
 */
export function decodeLocationMessage(data: Uint8Array, _headers?: unknown): LocationEvent[] {
  if (!isBinaryLocationMessage(data)) return parseJsonEvents(data);
  return columnsToEvents(decodeBinaryColumns(data));
}

/**
 * The events of a LOCATION message as columns, binary or JSON, with every event checked (a JSON
 * event missing a field or of a wrong type fails the message). The fast path for consumers that
 * read fields without objects (alerting).
 */
export function decodeLocationColumns(data: Uint8Array): LocationColumns {
  if (isBinaryLocationMessage(data)) return decodeBinaryColumns(data);
  const events = parseJsonEvents(data);
  if (events.length === 0 || events.length > MAX_BATCH_EVENTS)
    throw new LocationDecodeError(`not a LocationBatch: ${events.length} events, expected 1 to ${MAX_BATCH_EVENTS}`);
  const b = new LocationBatchBuilder(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const why = jsonEventProblem(e);
    if (why) throw new LocationDecodeError(`not a LocationBatch: event ${i}: ${why}`);
    b.add(e);
  }
  return b.columns();
}

function jsonEventProblem(e: LocationEvent): string | undefined {
  if (typeof e !== 'object' || e === null) return 'not an object';
  if (typeof e.msisdn !== 'string' || !MSISDN.test(e.msisdn)) return 'msisdn';
  if (CARRIER_INDEX[e.carrier] === undefined) return 'carrier';
  if (typeof e.ts !== 'number' || !(e.ts > 0) || !Number.isInteger(e.ts)) return 'ts';
  if (typeof e.cell !== 'string' || e.cell.length === 0) return 'cell';
  if (typeof e.lat !== 'number' || !(e.lat >= -90 && e.lat <= 90)) return 'lat';
  if (typeof e.lng !== 'number' || !(e.lng >= -180 && e.lng <= 180)) return 'lng';
  if (KIND_INDEX[e.kind] === undefined) return 'kind';
  if (e.gender !== undefined && e.gender !== 'm' && e.gender !== 'f') return 'gender';
  if (e.age !== undefined && !(Number.isInteger(e.age) && e.age >= 0 && e.age <= 120)) return 'age';
  if (e.home !== undefined && (typeof e.home !== 'string' || !HOME.test(e.home))) return 'home';
  return undefined;
}

/** Event objects from columns; absent optional fields are left out (not `undefined`). */
export function columnsToEvents(c: LocationColumns): LocationEvent[] {
  const out = new Array<LocationEvent>(c.count);
  for (let i = 0; i < c.count; i++) {
    const p = c.place[i];
    const e: LocationEvent = {
      msisdn: String(c.msisdn[i]),
      carrier: CARRIERS[c.carrier[i]],
      ts: c.ts[i],
      cell: c.cellIds[p],
      lat: c.lat[p],
      lng: c.lng[p],
      kind: EVENT_KINDS[c.kind[i]],
    };
    if (c.gender[i] !== GENDER_ABSENT) e.gender = GENDER_CODES[c.gender[i]];
    if (c.age[i] !== AGE_ABSENT) e.age = c.age[i];
    if (c.home[i] !== HOME_ABSENT) e.home = String(c.home[i]).padStart(6, '0');
    out[i] = e;
  }
  return out;
}

/**
 * Collects events and writes one binary batch. Reused: {@link encode} returns the message and
 * starts the next. Events are trusted (validated where they entered); numbers outside the contract
 * make `add` throw rather than write a batch consumers would refuse.
 */
export class LocationBatchBuilder {
  count = 0;
  private msisdn: Float64Array;
  private ts: Float64Array;
  private place: Uint32Array;
  private home: Int32Array;
  private carrier: Uint8Array;
  private kind: Uint8Array;
  private gender: Uint8Array;
  private age: Uint8Array;
  private readonly placeOf = new Map<string, number>();
  private cellIds: string[] = [];
  private lat: number[] = [];
  private lng: number[] = [];
  /** Upper bound of the dictionary's bytes (1 + 3 per UTF-16 unit). */
  private idBytes = 0;

  constructor(readonly capacity = 500) {
    if (capacity < 1 || capacity > MAX_BATCH_EVENTS) throw new RangeError(`capacity ${capacity}: 1 to ${MAX_BATCH_EVENTS}`);
    this.msisdn = new Float64Array(capacity);
    this.ts = new Float64Array(capacity);
    this.place = new Uint32Array(capacity);
    this.home = new Int32Array(capacity);
    this.carrier = new Uint8Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.gender = new Uint8Array(capacity);
    this.age = new Uint8Array(capacity);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Adds a contract event (strings as in JSON). */
  add(e: LocationEvent): void {
    this.addFields(
      Number(e.msisdn),
      CARRIER_INDEX[e.carrier],
      e.ts,
      e.cell,
      e.lat,
      e.lng,
      KIND_INDEX[e.kind],
      e.gender === 'm' ? 1 : e.gender === 'f' ? 2 : GENDER_ABSENT,
      e.age ?? AGE_ABSENT,
      e.home === undefined ? HOME_ABSENT : Number(e.home),
    );
  }

  /**
   * Adds an event by its coded fields (the simulator's fast path: no strings but the cell id).
   * `carrier`/`kind` index CARRIERS/EVENT_KINDS; gender 0/1/2; age 255 and home −1 when absent.
   */
  addFields(
    msisdn: number,
    carrier: number,
    ts: number,
    cell: string,
    lat: number,
    lng: number,
    kind: number,
    gender: number,
    age: number,
    home: number,
  ): void {
    const i = this.count;
    if (i >= this.capacity) throw new RangeError('the batch is full: encode it first');
    if (
      !(msisdn >= 13_000_000_000 && msisdn < 20_000_000_000) ||
      !(carrier >= 0 && carrier < CARRIERS.length) ||
      !(kind >= 0 && kind < EVENT_KINDS.length) ||
      !(ts > 0) ||
      !Number.isSafeInteger(ts) ||
      !Number.isInteger(msisdn) ||
      !(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180) ||
      !(gender >= 0 && gender <= 2) ||
      !((age >= 0 && age <= 120) || age === AGE_ABSENT) ||
      !(home >= HOME_ABSENT && home <= 999_999)
    )
      throw new RangeError(
        `not a LocationEvent: msisdn ${msisdn}, carrier ${carrier}, kind ${kind}, ts ${ts}, position ${lat},${lng}, gender ${gender}, age ${age}, home ${home}`,
      );
    let p = this.placeOf.get(cell);
    if (p === undefined || this.lat[p] !== lat || this.lng[p] !== lng) {
      // Same id at another position (rare): its own entry, keyed with the position.
      const key = p === undefined ? cell : `${cell}\u0000${lat},${lng}`;
      p = p === undefined ? undefined : this.placeOf.get(key);
      if (p === undefined) {
        if (cell.length === 0 || cell.length > 64) throw new RangeError(`cell id of ${cell.length} characters (1 to 64)`);
        p = this.cellIds.length;
        this.placeOf.set(key, p);
        this.cellIds.push(cell);
        this.lat.push(lat);
        this.lng.push(lng);
        this.idBytes += 1 + 3 * cell.length;
      }
    }
    this.msisdn[i] = msisdn;
    this.ts[i] = ts;
    this.place[i] = p;
    this.home[i] = home;
    this.carrier[i] = carrier;
    this.kind[i] = kind;
    this.gender[i] = gender;
    this.age[i] = age;
    this.count = i + 1;
  }

  /** The collected events as columns (copies), without encoding. */
  columns(): LocationColumns {
    const n = this.count;
    return {
      count: n,
      msisdn: this.msisdn.slice(0, n),
      ts: this.ts.slice(0, n),
      place: this.place.slice(0, n),
      home: this.home.slice(0, n),
      carrier: this.carrier.slice(0, n),
      kind: this.kind.slice(0, n),
      gender: this.gender.slice(0, n),
      age: this.age.slice(0, n),
      cellIds: this.cellIds.slice(),
      lat: Float64Array.from(this.lat),
      lng: Float64Array.from(this.lng),
    };
  }

  /** Writes the batch (at least one event) and empties the builder. */
  encode(): Buffer {
    const n = this.count,
      places = this.cellIds.length;
    if (n === 0) throw new RangeError('an empty batch');
    const fixed = HEADER + 28 * n + 16 * places;
    // allocUnsafe slices Node's pool at 8-aligned offsets; a fresh ArrayBuffer for big ones.
    const out = Buffer.allocUnsafe(align(fixed + this.idBytes, 8));
    out[0] = MAGIC[0];
    out[1] = MAGIC[1];
    out[2] = MAGIC[2];
    out[3] = MAGIC[3];
    out[4] = LOCATION_BINARY_VERSION;
    out.fill(0, 5, 8);
    out.writeUInt32LE(n, 8);
    out.writeUInt32LE(places, 12);
    out.fill(0, 16, 24);
    let off = HEADER;
    const put = (a: ArrayBufferView, len: number) => {
      out.set(new Uint8Array(a.buffer, a.byteOffset, len), off);
      off += len;
    };
    put(this.msisdn, 8 * n);
    put(this.ts, 8 * n);
    const pos = new Float64Array(places);
    for (let k = 0; k < places; k++) pos[k] = this.lat[k];
    put(pos, 8 * places);
    for (let k = 0; k < places; k++) pos[k] = this.lng[k];
    put(pos, 8 * places);
    put(this.place, 4 * n);
    put(this.home, 4 * n);
    put(this.carrier, n);
    put(this.kind, n);
    put(this.gender, n);
    put(this.age, n);
    for (let k = 0; k < places; k++) {
      const id = this.cellIds[k];
      const len = out.write(id, off + 1, 'utf8');
      if (len > 255 || len === 0) throw new RangeError(`cell id of ${len} bytes`);
      out[off] = len;
      off += 1 + len;
    }
    this.reset();
    return out.subarray(0, off);
  }

  /** Events collected so far, as objects (for a JSON consumer). */
  events(): LocationEvent[] {
    return columnsToEvents(this.columns());
  }

  reset(): void {
    this.count = 0;
    this.placeOf.clear();
    this.cellIds = [];
    this.lat = [];
    this.lng = [];
    this.idBytes = 0;
  }
}

/** One binary message from contract events (1 … 10,000). */
export function encodeLocationBatch(events: readonly LocationEvent[]): Buffer {
  const b = new LocationBatchBuilder(Math.max(1, events.length));
  for (const e of events) b.add(e);
  return b.encode();
}
