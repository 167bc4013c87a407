import { CARRIERS, EVENT_KINDS } from '../contract.ts';

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
 * 4    1            version (1, or 2 with the lang column)
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
 *      count   u8   lang (version 2 only): index in LANGUAGES + 1, 0 when absent
 *      per place: u8 byte length, UTF-8 cell id; the message ends right after the last one
 * ```
 * Version 2 (#21) only adds the lang column; a batch without any language is still written as
 * version 1, byte for byte as before, so consumers that know only version 1 keep reading the
 * batches they can, and refuse the others by their version with a reason.
 *
 * About 28 bytes per event (29 with languages) plus ~33 per distinct (cell, position) in the message, against ~190
 * bytes of JSON per event.
 */

export const LOCATION_BINARY_MAGIC = 'GLOC';
/** The version written when a batch carries languages; one without any is written as version 1, which older consumers read. */
export const LOCATION_BINARY_VERSION = 2;
export const MAGIC = [0x47, 0x4c, 0x4f, 0x43] as const;
export const HEADER = 24;
export const MAX_BATCH_EVENTS = 10_000;
export const GENDER_ABSENT = 0;
export const AGE_ABSENT = 255;
export const HOME_ABSENT = -1;
export const LANG_ABSENT = 0;
export const GENDER_CODES = [undefined, 'm', 'f'] as const;

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
  /** Index in LANGUAGES + 1, 0 when absent (all 0 in a version 1 batch). */
  lang: Uint8Array;
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

export const align = (n: number, a: number) => (n + a - 1) & ~(a - 1);
export const bad = (why: string): never => {
  throw new LocationDecodeError(`not a LOCATION binary batch: ${why}`);
};
export const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a binary batch; throws {@link LocationDecodeError} on anything malformed. Zero-copy when the bytes are 8-aligned. */
export const CARRIER_INDEX: Record<string, number> = Object.fromEntries(CARRIERS.map((c, i) => [c, i]));
export const KIND_INDEX: Record<string, number> = Object.fromEntries(EVENT_KINDS.map((k, i) => [k, i]));
