import { latLngToCell } from 'h3-js';
import { h3Halves } from './row-binary.ts';

/** The H3 resolution stored per serving cell (~0.1 km² hexagons); coarser ones are its parents. */
export const CELL_H3_RES = 9;

/** Finds the city (GB/T 2260 code, e.g. 330100) a position lies in; 0 when unknown. */
export type CityLocator = (lng: number, lat: number) => number;

/**
 * A stable 52-bit key for a carrier cell id (two FNV-1a passes), so that ClickHouse rows written by
 * any instance, before or after a restart, agree without a shared counter. Never 0 (0 means "no
 * cell" in moves). Collisions: ~n²/2⁵³, i.e. about 1 in 10⁶ for 100k cells.
 */
export function cellKey(name: string): number {
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
 * Serving cells seen so far, by dense index: the key used in ClickHouse, the position, the H3 cell
 * and the city. Typed arrays grow by doubling; lookups by name or by key are one Map hit.
 */
export class CellDictionary {
  size = 0;
  key = new Float64Array(1024);
  lat = new Float64Array(1024);
  lng = new Float64Array(1024);
  city = new Uint32Array(1024);
  /** H3 index (res 9) as hex (h3-js), as 32-bit halves (RowBinary) and as decimal (SQL). */
  h3: string[] = [];
  h3Hi = new Uint32Array(1024);
  h3Lo = new Uint32Array(1024);
  h3Dec: string[] = [];
  names: string[] = [];
  /** Bumped on every new cell, so that caches of region masks know when to recompute. */
  version = 0;
  private readonly byName = new Map<string, number>();
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

  indexOfName(name: string): number | undefined {
    return this.byName.get(name);
  }

  indexOfKey(key: number): number | undefined {
    return this.byKey.get(key);
  }

  /** The dense index of a cell, adding it (and remembering it for the next flush) when new. */
  intern(name: string, lat: number, lng: number): number {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    const i = this.add(name, cellKey(name), lat, lng, this.cityOf(lng, lat), latLngToCell(lat, lng, CELL_H3_RES));
    this.fresh.push(i);
    return i;
  }

  /**
   * The dense index of a known cell whose id is given as UTF-8 bytes (a binary LOCATION batch's
   * dictionary), or -1: found by its key and checked byte by byte against the name, so a known cell
   * costs no string. The caller interns an unknown one by its decoded name.
   */
  findBytes(bytes: Uint8Array, at: number, len: number): number {
    const table = this.byBytes;
    const mask = table.length - 1;
    const pool = this.pool;
    for (let h = fnv1a(bytes, at, len) & mask; ; h = (h + 1) & mask) {
      const slot = table[h]!;
      if (slot === 0) return -1;
      const i = slot - 1;
      if (this.nameLen[i] !== len) continue;
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
  restore(name: string, key: number, lat: number, lng: number, city: number): number {
    return this.byKey.get(key) ?? this.add(name, key, lat, lng, city, latLngToCell(lat, lng, CELL_H3_RES));
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

  private add(name: string, key: number, lat: number, lng: number, city: number, h3: string): number {
    if (this.size === this.key.length) this.grow();
    const i = this.size++;
    this.key[i] = key;
    this.lat[i] = lat;
    this.lng[i] = lng;
    this.city[i] = city;
    this.h3[i] = h3;
    const [hi, lo] = h3Halves(h3);
    this.h3Hi[i] = hi;
    this.h3Lo[i] = lo;
    this.h3Dec[i] = BigInt(`0x${h3}`).toString();
    this.names[i] = name;
    this.byName.set(name, i);
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
        let h = fnv1a(this.pool, this.nameAt[c]!, this.nameLen[c]!) & mask;
        while (table[h] !== 0) h = (h + 1) & mask;
        table[h] = c + 1;
      }
      this.byBytes = table;
      return;
    }
    const mask = this.byBytes.length - 1;
    let h = fnv1a(this.pool, at, len) & mask;
    while (this.byBytes[h] !== 0) h = (h + 1) & mask;
    this.byBytes[h] = i + 1;
  }

  private grow(): void {
    const n = this.key.length * 2;
    const f64 = (a: Float64Array) => { const b = new Float64Array(n); b.set(a); return b; };
    this.key = f64(this.key);
    this.lat = f64(this.lat);
    this.lng = f64(this.lng);
    const u32 = (a: Uint32Array) => { const b = new Uint32Array(n); b.set(a); return b; };
    this.city = u32(this.city);
    this.h3Hi = u32(this.h3Hi);
    this.h3Lo = u32(this.h3Lo);
    this.nameAt = u32(this.nameAt);
    const nameLen = new Uint8Array(n);
    nameLen.set(this.nameLen);
    this.nameLen = nameLen;
  }
}

/** FNV-1a (32 bits) of `len` bytes from `at`. */
function fnv1a(bytes: Uint8Array, at: number, len: number): number {
  let h = 0x811c9dc5;
  for (let j = at; j < at + len; j++) h = Math.imul(h ^ bytes[j]!, 0x01000193);
  return h >>> 0;
}
