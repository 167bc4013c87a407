import { CARRIERS, EVENT_KINDS, LANGUAGES, languageCode, type LocationEvent } from '../contract.ts';
import { columnsToEvents } from './location-decode.ts';
import {
  AGE_ABSENT,
  CARRIER_INDEX,
  GENDER_ABSENT,
  HEADER,
  HOME_ABSENT,
  KIND_INDEX,
  LANG_ABSENT,
  LOCATION_BINARY_VERSION,
  type LocationColumns,
  MAGIC,
  MAX_BATCH_EVENTS,
  align,
} from './location-format.ts';

/** Encoding LOCATION batches as GLOC v1, or v2 when some event has a language (see location-format.ts). */
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
  private lang: Uint8Array;
  /** Events with a language in this batch: none → written as version 1. */
  private langs = 0;
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
    this.lang = new Uint8Array(capacity);
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
      e.lang === undefined ? LANG_ABSENT : languageCode(e.lang) || -1,
    );
  }

  /**
   * Adds an event by its coded fields (the simulator's fast path: no strings but the cell id).
   * `carrier`/`kind` index CARRIERS/EVENT_KINDS; gender 0/1/2; age 255 and home −1 when absent;
   * lang the index in LANGUAGES + 1, 0 when absent.
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
    lang = LANG_ABSENT,
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
      !(home >= HOME_ABSENT && home <= 999_999) ||
      !(lang >= LANG_ABSENT && lang <= LANGUAGES.length && Number.isInteger(lang))
    )
      throw new RangeError(
        `not a LocationEvent: msisdn ${msisdn}, carrier ${carrier}, kind ${kind}, ts ${ts}, position ${lat},${lng}, gender ${gender}, age ${age}, home ${home}, lang ${lang}`,
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
    this.lang[i] = lang;
    if (lang !== LANG_ABSENT) this.langs++;
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
      lang: this.lang.slice(0, n),
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
    const langs = this.langs > 0 ? 1 : 0;
    const fixed = HEADER + (28 + langs) * n + 16 * places;
    // allocUnsafe slices Node's pool at 8-aligned offsets; a fresh ArrayBuffer for big ones.
    const out = Buffer.allocUnsafe(align(fixed + this.idBytes, 8));
    out[0] = MAGIC[0];
    out[1] = MAGIC[1];
    out[2] = MAGIC[2];
    out[3] = MAGIC[3];
    out[4] = langs ? LOCATION_BINARY_VERSION : 1;
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
    if (langs) put(this.lang, n);
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
    this.langs = 0;
  }
}

/** One binary message from contract events (1 … 10,000). */
export function encodeLocationBatch(events: readonly LocationEvent[]): Buffer {
  const b = new LocationBatchBuilder(Math.max(1, events.length));
  for (const e of events) b.add(e);
  return b.encode();
}
