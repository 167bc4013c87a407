import { CARRIERS } from '@geo/ingest';

/** No cell: a subscriber absent (never seen, detached or stale). */
export const NO_CELL = -1;

/** A typed array of `n` elements holding `a`'s at the start (the rest zero). */
export function growTo<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/**
 * How far (metres) an event's cell position may be from the position its (carrier, cell) is known
 * at and still be taken as that cell. The carriers give one position per cell (the antenna's, not a
 * fix), so any real difference means another antenna under the same id (a re-planned cell, a
 * reused id). The contract carries no cell radius; 100 m is below the 161 m overshoot the WEA rule
 * allows (DESIGN.md, geo-targeting), so keeping the known position within it never misplaces
 * anyone by more than that.
 * @default 100
 */
export const CELL_MOVE_BOUND_M = 100;

const M_PER_DEG = 111_195;

/**
 * Interned cells: (carrier, id) ↔ dense index, position, and how many present subscribers each
 * holds now. A cell id is unique only within its carrier's network (an ECGI includes the PLMN;
 * invariant 8): the same id of two carriers is two cells. An id that turns up more than
 * {@link CELL_MOVE_BOUND_M} from its known position gets an entry of its own at the new position
 * (counted in {@link relocated}), so every event is evaluated where its carrier says the cell is.
 */
export class CellTable {
  private readonly byId: Map<string, number>[] = CARRIERS.map(() => new Map<string, number>());
  readonly ids: string[] = [];
  lng = new Float64Array(1024);
  lat = new Float64Array(1024);
  count = new Int32Array(1024);
  /** The carrier (index into CARRIERS) whose network names the cell. */
  carrier = new Uint8Array(1024);
  /** The next entry of the same carrier and id at another position, or NO_CELL. */
  private alt = new Int32Array(1024).fill(NO_CELL);
  /** 1 for the first entry of a (carrier, id), the one the lookup tables hold. */
  private primary = new Uint8Array(1024);
  private readonly bound2: number;
  /** Positions of a known (carrier, cell) more than the bound away from every earlier one (each counted once). */
  relocated = 0;

  constructor(moveBoundM = CELL_MOVE_BOUND_M) {
    this.bound2 = moveBoundM * moveBoundM;
  }

  get size(): number {
    return this.ids.length;
  }

  private add(carrier: number, id: string, lng: number, lat: number): number {
    const c = this.ids.length;
    if (c === this.lng.length) {
      this.lng = growTo(this.lng, c * 2);
      this.lat = growTo(this.lat, c * 2);
      this.count = growTo(this.count, c * 2);
      this.carrier = growTo(this.carrier, c * 2);
      this.primary = growTo(this.primary, c * 2);
      const alt = growTo(this.alt, c * 2);
      alt.fill(NO_CELL, c);
      this.alt = alt;
    }
    this.ids.push(id);
    this.lng[c] = lng;
    this.lat[c] = lat;
    this.carrier[c] = carrier;
    return c;
  }

  /** Entry `c` (a primary) or the entry of its carrier and id at (lng, lat), added when none is near. */
  private placed(c: number, lng: number, lat: number): number {
    if (this.lng[c] === lng && this.lat[c] === lat) return c;
    const kx = Math.cos((lat * Math.PI) / 180) * M_PER_DEG;
    for (let k = c; k !== NO_CELL; k = this.alt[k]) {
      const dx = (this.lng[k] - lng) * kx,
        dy = (this.lat[k] - lat) * M_PER_DEG;
      if (dx * dx + dy * dy <= this.bound2) return k;
    }
    const n = this.add(this.carrier[c], this.ids[c], lng, lat);
    this.alt[n] = this.alt[c];
    this.alt[c] = n;
    this.relocated++;
    return n;
  }

  /** The primary entry of (carrier, id), added the first time. */
  private primaryOf(carrier: number, id: string, lng: number, lat: number): number {
    const m = this.byId[carrier];
    let c = m.get(id);
    if (c === undefined) {
      c = this.add(carrier, id, lng, lat);
      this.primary[c] = 1;
      m.set(id, c);
    }
    return c;
  }

  /** The index of carrier `carrier`'s (index into CARRIERS) cell `id` at (lng, lat), interning it the first time. */
  intern(carrier: number, id: string, lng: number, lat: number): number {
    return this.placed(this.primaryOf(carrier, id, lng, lat), lng, lat);
  }

  /** The entry a (carrier, id) was first seen at, or NO_CELL. */
  indexOf(carrier: number, id: string): number {
    return this.byId[carrier].get(id) ?? NO_CELL;
  }

  // By bytes: an open-addressing table over the carrier and the ids' UTF-8 bytes, so a batch's ids
  // are looked up without making a string per id (strings and a Map lookup per event cost ~2 µs on
  // this box). It holds primary entries only.
  private slots = new Int32Array(4096).fill(-1);
  private arena = new Uint8Array(64 * 1024);
  private arenaUsed = 0;
  private at = new Uint32Array(1024);
  private len = new Uint8Array(1024);
  private byBytes = 0;

  private static hash(carrier: number, bytes: Uint8Array, at: number, len: number): number {
    let h = Math.imul(0x811c9dc5 ^ (carrier + 1), 0x01000193);
    for (let j = at; j < at + len; j++) h = Math.imul(h ^ bytes[j], 0x01000193);
    return h;
  }

  /** {@link intern} for an id given as UTF-8 bytes; `decode` makes the string the first time. */
  internBytes(
    carrier: number,
    bytes: Uint8Array,
    at: number,
    len: number,
    lng: number,
    lat: number,
    decode: (b: Uint8Array, at: number, len: number) => string,
  ): number {
    const h = CellTable.hash(carrier, bytes, at, len);
    const mask = this.slots.length - 1;
    const arena = this.arena;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const c = this.slots[s];
      if (c < 0) break;
      if (this.len[c] !== len || this.carrier[c] !== carrier) continue;
      const a = this.at[c];
      let j = 0;
      while (j < len && arena[a + j] === bytes[at + j]) j++;
      if (j === len) return this.placed(c, lng, lat);
    }
    const c = this.primaryOf(carrier, decode(bytes, at, len), lng, lat);
    if (c >= this.len.length || this.len[c] === 0) this.remember(c, bytes, at, len, h);
    return this.placed(c, lng, lat);
  }

  /** The UTF-8 bytes of cell `c`'s id: `arena[at … at + len)` (remembered on first use). */
  idBytes(c: number): { arena: Uint8Array; at: number; len: number } {
    if (c >= this.len.length || this.len[c] === 0) {
      const b = Buffer.from(this.ids[c], 'utf8');
      this.remember(c, b, 0, b.length, CellTable.hash(this.carrier[c], b, 0, b.length));
    }
    const r = this.ref;
    r.arena = this.arena;
    r.at = this.at[c];
    r.len = this.len[c];
    return r;
  }
  private readonly ref = { arena: new Uint8Array(0), at: 0, len: 0 };

  private remember(c: number, bytes: Uint8Array, at: number, len: number, h: number): void {
    if (c >= this.at.length) {
      this.at = growTo(this.at, Math.max(this.at.length * 2, c + 1));
      this.len = growTo(this.len, this.at.length);
    }
    if (this.arenaUsed + len > this.arena.length) this.arena = growTo(this.arena, Math.max(this.arena.length * 2, this.arenaUsed + len));
    this.arena.set(bytes.subarray(at, at + len), this.arenaUsed);
    this.at[c] = this.arenaUsed;
    this.len[c] = len;
    this.arenaUsed += len;
    if (!this.primary[c]) return;
    if (++this.byBytes * 2 > this.slots.length) {
      // Grow and re-insert every remembered primary cell.
      const slots = new Int32Array(this.slots.length * 2).fill(-1);
      const m = slots.length - 1;
      for (let k = 0; k < Math.min(this.ids.length, this.len.length); k++) {
        if (this.len[k] === 0 || !this.primary[k]) continue;
        let s = CellTable.hash(this.carrier[k], this.arena, this.at[k], this.len[k]) & m;
        while (slots[s] >= 0) s = (s + 1) & m;
        slots[s] = k;
      }
      this.slots = slots;
      return;
    }
    let s = h & (this.slots.length - 1);
    while (this.slots[s] >= 0) s = (s + 1) & (this.slots.length - 1);
    this.slots[s] = c;
  }
}
