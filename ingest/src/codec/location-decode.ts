import { MSISDN } from '@geo/infra/basics';
import type { LocationEvent } from '../contract.ts';
import {
  AGE_ABSENT,
  CARRIER_INDEX,
  GENDER_ABSENT,
  GENDER_CODES,
  HEADER,
  HOME_ABSENT,
  KIND_INDEX,
  LANG_ABSENT,
  LOCATION_BINARY_VERSION,
  LocationDecodeError,
  MAX_BATCH_EVENTS,
  bad,
  isBinaryLocationMessage,
  utf8,
  type LocationColumns,
} from './location-format.ts';
import { CARRIERS, EVENT_KINDS, LANGUAGES, languageCode } from '../contract.ts';
// JSON messages become columns through the batch builder (encode and decode call each other only inside functions).
import { LocationBatchBuilder } from './location-encode.ts';

/** Decoding LOCATION messages, binary (GLOC v1, see location-format.ts) or JSON, into events or columns. */
export function decodeBinaryColumns(data: Uint8Array): LocationColumns {
  if (!isBinaryLocationMessage(data)) bad('no GLOC magic');
  if (data.length < HEADER) bad(`${data.length} bytes, shorter than the header`);
  const version = data[4];
  if (version !== 1 && version !== LOCATION_BINARY_VERSION) bad(`version ${version}, expected 1 or ${LOCATION_BINARY_VERSION}`);
  const langs = version === 1 ? 0 : 1;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = view.getUint32(8, true);
  const places = view.getUint32(12, true);
  if (n < 1 || n > MAX_BATCH_EVENTS) bad(`${n} events, expected 1 to ${MAX_BATCH_EVENTS}`);
  if (places < 1 || places > n) bad(`${places} places for ${n} events`);
  const fixed = HEADER + (28 + langs) * n + 16 * places;
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
  // A version 1 batch has no language column: nobody's language is known.
  const lang = langs ? new Uint8Array(buf, off, n) : new Uint8Array(n);
  off += langs * n;
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
    if (lang[i] > LANGUAGES.length) bad(`event ${i}: lang ${lang[i]}`);
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
    lang,
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
  if (e.lang !== undefined && languageCode(e.lang) === LANG_ABSENT) return 'lang';
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
    if (c.lang[i] !== LANG_ABSENT) e.lang = LANGUAGES[c.lang[i] - 1];
    out[i] = e;
  }
  return out;
}

/**
 * Collects events and writes one binary batch. Reused: {@link encode} returns the message and
 * starts the next. Events are trusted (validated where they entered); numbers outside the contract
 * make `add` throw rather than write a batch consumers would refuse.
 */
