import { latLngToCell } from 'h3-js';
import { h3Halves } from './row-binary.ts';

/** The H3 resolution stored per serving cell (~0.1 km² hexagons); coarser ones are its parents. */
export const CELL_H3_RES = 9;

/** Finds the city (GB/T 2260 code, e.g. 330100) a position lies in; 0 when unknown. */
export type CityLocator = (lng: number, lat: number) => number;

/**
 * Per carrier code (1 cmcc, 2 cucc, 3 ctcc; 0 unknown), a 52-bit constant XORed into the cell id's
 * hash: a cell id is unique only within its carrier's network (DESIGN.md invariant 8), so the same
 * id of two carriers must be two cells. A XOR keeps the key computable in SQL from a name-only key
 * and the carrier (schema version 3 rewrote version 2's keys with {@link cellKeySql}).
 */
export const CARRIER_CELL_SALT: readonly number[] = [0, 0x5c2a9e3b17d4f, 0xa3e1f0c8b2965, 0x3f8d6b1e9a0c7];

/**
 * A stable 52-bit key for a carrier's cell id (two FNV-1a passes over the id, XOR the carrier's
 * salt), so that ClickHouse rows written by any instance, before or after a restart, agree without
 * a shared counter. Never 0 (0 means "no cell" in moves). Collisions: ~n²/2⁵³, i.e. about 1 in 10⁶
 * for 100k cells.
 */
export function cellKey(carrier: number, name: string): number {
  const k = xor52(cellNameKey(name), CARRIER_CELL_SALT[carrier] ?? 0);
  return k === 0 ? 1 : k;
}

/** {@link cellKey} in SQL (18.16-compatible) from a version-2 name-only key and a carrier code column. */
export function cellKeySql(nameKey: string, carrier: string): string {
  const x = `bitXor(${nameKey}, multiIf(${carrier} = 1, toUInt64(${CARRIER_CELL_SALT[1]}), ${carrier} = 2, toUInt64(${CARRIER_CELL_SALT[2]}), ${carrier} = 3, toUInt64(${CARRIER_CELL_SALT[3]}), toUInt64(0)))`;
  return `if(${x} = 0, toUInt64(1), ${x})`;
}

/** XOR of two non-negative integers below 2⁵³ (JS bit operators stop at 32 bits). */
function xor52(a: number, b: number): number {
  const hi = (Math.floor(a / 0x100000000) ^ Math.floor(b / 0x100000000)) >>> 0;
  const lo = ((a >>> 0) ^ (b >>> 0)) >>> 0;
  return hi * 0x100000000 + lo;
}

/** The hash of a cell id alone (version 2's key); {@link cellKey} adds the carrier. */
export function cellNameKey(name: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  const key = (a >>> 12) * 0x100000000 + (b >>> 0);
  return key === 0 ? 1 : key;
}

/**
 * Serving cells seen so far, by dense index: a cell is a (carrier, cell id) pair (two carriers' same
 * id are two cells, at their own places), with the key used in ClickHouse, the position, the H3
 * cell and the city. Typed arrays grow by doubling; lookups by (carrier, name) or by key are one
 * Map hit.
 */
export class CellDictionary {
  size = 0;
  key = new Float64Array(1024);
  lat = new Float64Array(1024);
  lng = new Float64Array(1024);
  city = new Uint32Array(1024);
  /** The carrier code (1 cmcc, 2 cucc, 3 ctcc) whose network the cell belongs to. */
  carrier = new Uint8Array(1024);
  /** H3 index (res 9) as hex (h3-js), as 32-bit halves (RowBinary) and as decimal (SQL). */
  h3: string[] = [];
  h3Hi = new Uint32Array(1024);
  h3Lo = new Uint32Array(1024);
  h3Dec: string[] = [];
  names: string[] = [];
  /** Bumped on every new cell, so that caches of region masks know when to recompute. */
  version = 0;
  /** Per carrier code, cell ids to dense indexes. */
  private readonly byName: Map<string, number>[] = [new Map(), new Map(), new Map(), new Map()];
  private readonly byKey = new Map<number, number>();
  /**
   * Names by their bytes, for the per-message lookup of a binary batch's cell ids without making
   * strings: open addressing over a 32-bit FNV-1a hash (slot = index + 1, 0 empty), each ASCII name
   * (up to 255 bytes) kept as bytes in one pool. Other names are found through `byName` only.
   */
  private byBytes = new Int32Array(4096);
  private pool = new Uint8Array(1 << 16);
  private poolUsed = 0;
  private nameAt = new Uint32Array(1024);
  private nameLen = new Uint8Array(1024);
  private bytesCount = 0;
  private fresh: number[] = [];

  constructor(private readonly cityOf: CityLocator = () => 0) {}

  indexOfName(carrier: number, name: string): number | undefined {
    return this.byName[carrier]?.get(name);
  }

  indexOfKey(key: number): number | undefined {
    return this.byKey.get(key);
  }

  /** The dense index of a carrier's cell, adding it (and remembering it for the next flush) when new. */
  intern(carrier: number, name: string, lat: number, lng: number): number {
    const known = this.byName[carrier]!.get(name);
    if (known !== undefined) return known;
    const i = this.add(carrier, name, cellKey(carrier, name), lat, lng, this.cityOf(lng, lat), latLngToCell(lat, lng, CELL_H3_RES));
    this.fresh.push(i);
    return i;
  }

  /**
   * The dense index of a carrier's known cell whose id is given as UTF-8 bytes (a binary LOCATION
   * batch's dictionary), or -1: found by its hash and checked byte by byte against the name, so a
   * known cell costs no string. The caller interns an unknown one by its decoded name.
   */
  findBytes(carrier: number, bytes: Uint8Array, at: number, len: number): number {
    const table = this.byBytes;
    const mask = table.length - 1;
    const pool = this.pool;
    for (let h = fnv1a(bytes, at, len, carrier) & mask; ; h = (h + 1) & mask) {
      const slot = table[h]!;
      if (slot === 0) return -1;
      const i = slot - 1;
      if (this.nameLen[i] !== len || this.carrier[i] !== carrier) continue;
      let p = this.nameAt[i]!;
      let j = at;
      const end = at + len;
      while (j < end && pool[p] === bytes[j]) {
        p++;
        j++;
      }
      if (j === end) return i;
    }
  }

  /** Adds a cell read back from ClickHouse at start-up. */
  restore(carrier: number, name: string, key: number, lat: number, lng: number, city: number): number {
    return this.byKey.get(key) ?? this.add(carrier, name, key, lat, lng, city, latLngToCell(lat, lng, CELL_H3_RES));
  }

  /** Cells added since the last call, for the sink to write before any row that names them. */
  takeFresh(): number[] {
    const f = this.fresh;
    this.fresh = [];
    return f;
  }

  /** Puts cells back when their write failed, so the next flush writes them. */
  returnFresh(cells: number[]): void {
    this.fresh = cells.concat(this.fresh);
  }

  private add(carrier: number, name: string, key: number, lat: number, lng: number, city: number, h3: string): number {
    if (this.size === this.key.length) this.grow();
    const i = this.size++;
    this.key[i] = key;
    this.carrier[i] = carrier;
    this.lat[i] = lat;
    this.lng[i] = lng;
    this.city[i] = city;
    this.h3[i] = h3;
    const [hi, lo] = h3Halves(h3);
    this.h3Hi[i] = hi;
    this.h3Lo[i] = lo;
    this.h3Dec[i] = BigInt(`0x${h3}`).toString();
    this.names[i] = name;
    this.byName[carrier]!.set(name, i);
    this.byKey.set(key, i);
    this.version++;
    this.indexBytes(name, i);
    return i;
  }

  private indexBytes(name: string, i: number): void {
    const len = name.length;
    if (len === 0 || len > 255) return;
    for (let j = 0; j < len; j++) if (name.charCodeAt(j) > 0x7e) return;
    if (this.poolUsed + len > this.pool.length) {
      const pool = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + len));
      pool.set(this.pool);
      this.pool = pool;
    }
    const at = this.poolUsed;
    for (let j = 0; j < len; j++) this.pool[at + j] = name.charCodeAt(j);
    this.poolUsed += len;
    this.nameAt[i] = at;
    this.nameLen[i] = len;
    if (++this.bytesCount * 2 > this.byBytes.length) {
      // Rehash every indexed name into a table twice the size.
      const table = new Int32Array(this.byBytes.length * 2);
      const mask = table.length - 1;
      for (let c = 0; c < this.size; c++) {
        if (this.nameLen[c] === 0) continue;
        let h = fnv1a(this.pool, this.nameAt[c]!, this.nameLen[c]!, this.carrier[c]!) & mask;
        while (table[h] !== 0) h = (h + 1) & mask;
        table[h] = c + 1;
      }
      this.byBytes = table;
      return;
    }
    const mask = this.byBytes.length - 1;
    let h = fnv1a(this.pool, at, len, this.carrier[i]!) & mask;
    while (this.byBytes[h] !== 0) h = (h + 1) & mask;
    this.byBytes[h] = i + 1;
  }

  private grow(): void {
    const n = this.key.length * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.key = f64(this.key);
    this.lat = f64(this.lat);
    this.lng = f64(this.lng);
    const u32 = (a: Uint32Array) => {
      const b = new Uint32Array(n);
      b.set(a);
      return b;
    };
    this.city = u32(this.city);
    this.h3Hi = u32(this.h3Hi);
    this.h3Lo = u32(this.h3Lo);
    this.nameAt = u32(this.nameAt);
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    this.nameLen = u8(this.nameLen);
    this.carrier = u8(this.carrier);
  }
}

/** FNV-1a (32 bits) of the carrier code and `len` bytes from `at`. */
function fnv1a(bytes: Uint8Array, at: number, len: number, carrier: number): number {
  let h = Math.imul(0x811c9dc5 ^ carrier, 0x01000193);
  for (let j = at; j < at + len; j++) h = Math.imul(h ^ bytes[j]!, 0x01000193);
  return h >>> 0;
}
