import type { Carrier } from '@geo/ingest';
import { CARRIERS } from '@geo/ingest';
import { SubscriberIndex } from '@geo/infra/basics';

/** The slice of a location event presence needs. */
export interface PresenceEvent {
  msisdn: string;
  carrier: Carrier;
  ts: number;
  cell: string;
  lat: number;
  lng: number;
  kind: string;
  gender?: 'm' | 'f';
  age?: number;
  home?: string;
}

export const NO_CELL = -1;

const DIGITS4 = Array.from({ length: 10_000 }, (_, n) => String(n));
const PADDED4 = DIGITS4.map((d) => d.padStart(4, '0'));

/**
 * `String(n)` for a number kept as a double, five times faster for phone numbers (9 to 12 digits):
 * from three table entries of up to four digits each. `String` of a double that is not a small
 * integer measured ~0.5 µs here, a tenth of a city-wide task start's CPU (each person's number is
 * needed for their claim and job).
 */
export function numberString(n: number): string {
  if (n >= 1e8 && n < 1e12 && Number.isInteger(n)) {
    const a = Math.floor(n / 1e8);
    const r = n - a * 1e8;
    const b = Math.floor(r / 1e4);
    return DIGITS4[a] + PADDED4[b] + PADDED4[r - b * 1e4];
  }
  return String(n);
}
const GENDERS = [undefined, 'm', 'f'] as const;
const AGE_UNKNOWN = 255;

function growTo<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T, n: number): T {
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

export interface PresenceOptions {
  /** A subscriber is present while their last event is younger than this. @default 2 h */
  stalenessMs?: number;
  /** Initial capacity (grows by doubling). */
  capacity?: number;
  /** See {@link CELL_MOVE_BOUND_M}. @default 100 */
  cellMoveBoundM?: number;
}

/**
 * The last known cell of every subscriber, in typed arrays keyed by a dense subscriber index
 * (≈ 50 bytes per subscriber, no per-subscriber objects). Times are whole seconds.
 */
export class Presence {
  readonly stalenessMs: number;
  readonly cells: CellTable;
  private readonly index: SubscriberIndex;
  private n = 0;
  msisdn: Float64Array;
  /** Current cell, or NO_CELL when absent (never seen, detached or stale). */
  cell: Int32Array;
  /** Last event time, epoch seconds. */
  lastSec: Uint32Array;
  /** When they arrived in their current cell, epoch seconds. */
  sinceSec: Uint32Array;
  carrier: Uint8Array;
  gender: Uint8Array;
  age: Uint8Array;
  home: Int32Array;

  constructor(opts: PresenceOptions = {}) {
    this.stalenessMs = opts.stalenessMs ?? 2 * 3600_000;
    this.cells = new CellTable(opts.cellMoveBoundM);
    const cap = Math.max(16, opts.capacity ?? 1 << 16);
    this.index = new SubscriberIndex(cap);
    this.msisdn = new Float64Array(cap);
    this.cell = new Int32Array(cap).fill(NO_CELL);
    this.lastSec = new Uint32Array(cap);
    this.sinceSec = new Uint32Array(cap);
    this.carrier = new Uint8Array(cap);
    this.gender = new Uint8Array(cap);
    this.age = new Uint8Array(cap).fill(AGE_UNKNOWN);
    this.home = new Int32Array(cap);
  }

  /** Subscribers ever seen (present or not). */
  get size(): number {
    return this.n;
  }

  /** Bytes held per tracked subscriber (arrays at their current capacity, plus the hash table). */
  get bytesPerSubscriber(): number {
    const perSlot = 8 + 4 + 4 + 4 + 1 + 1 + 1 + 4;
    return (this.msisdn.length * perSlot + this.index.bytes) / Math.max(1, this.n);
  }

  /** The subscriber's index, or -1. */
  indexOf(msisdn: string): number {
    return this.index.get(Number(msisdn));
  }

  /** The subscriber's index, allocating an absent one when new. */
  ensure(msisdn: string, carrier: Carrier): number {
    return this.ensureNumber(Number(msisdn), CARRIERS.indexOf(carrier));
  }

  /** {@link ensure} by the number as a double and the carrier's index. */
  ensureNumber(key: number, carrier: number): number {
    let i = this.index.get(key);
    if (i >= 0) return i;
    i = this.n++;
    if (i === this.msisdn.length) this.grow(i * 2);
    this.index.set(key, i);
    this.msisdn[i] = key;
    this.carrier[i] = carrier;
    return i;
  }

  private grow(cap: number): void {
    this.msisdn = growTo(this.msisdn, cap);
    const cell = growTo(this.cell, cap);
    cell.fill(NO_CELL, this.cell.length);
    this.cell = cell;
    this.lastSec = growTo(this.lastSec, cap);
    this.sinceSec = growTo(this.sinceSec, cap);
    this.carrier = growTo(this.carrier, cap);
    this.gender = growTo(this.gender, cap);
    const age = growTo(this.age, cap);
    age.fill(AGE_UNKNOWN, this.age.length);
    this.age = age;
    this.home = growTo(this.home, cap);
  }

  /** The previous cell of the subscriber touched by the last {@link apply} (NO_CELL if absent). */
  lastPrevCell = NO_CELL;
  /** When that subscriber had reached {@link lastPrevCell} (epoch seconds). */
  lastPrevSinceSec = 0;

  /**
   * Applies one event; returns the subscriber's index. An event older than the one already applied
   * changes nothing (so a replayed or redelivered event is harmless). A `detach` makes them absent.
   * Sets {@link lastPrevCell}; the caller compares it with `cell[i]` to see a move.
   */
  apply(e: PresenceEvent): number {
    const ci = CARRIERS.indexOf(e.carrier);
    const i = this.ensureNumber(Number(e.msisdn), ci);
    const prev = this.cell[i];
    this.lastPrevCell = prev;
    this.lastPrevSinceSec = this.sinceSec[i];
    const sec = Math.floor(e.ts / 1000);
    if (sec < this.lastSec[i]) return i;
    this.lastSec[i] = sec;
    if (e.gender) this.gender[i] = e.gender === 'm' ? 1 : 2;
    if (e.age !== undefined) this.age[i] = e.age;
    if (e.home) this.home[i] = Number(e.home);
    this.moveTo(i, prev, e.kind === 'detach' ? NO_CELL : this.cells.intern(ci, e.cell, e.lng, e.lat), sec);
    return i;
  }

  /**
   * {@link apply} for an event given by coded fields (a binary LOCATION batch's columns, no
   * objects): `cell` already interned (NO_CELL for a detach), gender 0 absent / 1 m / 2 f, age 255
   * and home −1 when absent.
   */
  applyCoded(msisdn: number, carrier: number, ts: number, cell: number, gender: number, age: number, home: number): number {
    const i = this.ensureNumber(msisdn, carrier);
    const prev = this.cell[i];
    this.lastPrevCell = prev;
    this.lastPrevSinceSec = this.sinceSec[i];
    const sec = Math.floor(ts / 1000);
    if (sec < this.lastSec[i]) return i;
    this.lastSec[i] = sec;
    if (gender !== 0) this.gender[i] = gender;
    if (age !== AGE_UNKNOWN) this.age[i] = age;
    if (home > 0) this.home[i] = home;
    this.moveTo(i, prev, cell, sec);
    return i;
  }

  private moveTo(i: number, prev: number, next: number, sec: number): void {
    if (next !== prev) {
      if (prev !== NO_CELL) this.cells.count[prev]--;
      if (next !== NO_CELL) this.cells.count[next]++;
      this.cell[i] = next;
      this.sinceSec[i] = sec;
    }
  }

  /**
   * Forgets where subscriber `i` is (another instance owns their shard now): absent, and their
   * last event time cleared so that a later replay of their shard applies every event again.
   */
  forget(i: number): void {
    const c = this.cell[i];
    if (c !== NO_CELL) this.cells.count[c]--;
    this.cell[i] = NO_CELL;
    this.lastSec[i] = 0;
  }

  isPresent(i: number, now: number): boolean {
    return this.cell[i] !== NO_CELL && now - this.lastSec[i] * 1000 < this.stalenessMs;
  }

  /**
   * Marks subscribers whose last event is older than the staleness limit absent; calls `onLeave`
   * for each with the cell they left. Linear over all subscribers (~20 ms per 10 M).
   */
  sweep(now: number, onLeave?: (i: number, fromCell: number) => void): number {
    const limit = Math.floor((now - this.stalenessMs) / 1000);
    let n = 0;
    for (let i = 0; i < this.n; i++) {
      const c = this.cell[i];
      if (c !== NO_CELL && this.lastSec[i] <= limit) {
        this.cell[i] = NO_CELL;
        this.cells.count[c]--;
        n++;
        onLeave?.(i, c);
      }
    }
    return n;
  }

  /** People present per cell now (cells with at least one), keyed `carrier:cell id`. */
  countsPerCell(): Map<string, number> {
    const out = new Map<string, number>();
    const { ids, count, carrier } = this.cells;
    for (let c = 0; c < this.cells.size; c++) {
      if (count[c] <= 0) continue;
      const key = `${CARRIERS[carrier[c]]}:${ids[c]}`;
      out.set(key, (out.get(key) ?? 0) + count[c]);
    }
    return out;
  }

  /** The profile of a subscriber, as evaluation sees it. */
  profile(i: number): { carrier: Carrier; gender?: 'm' | 'f'; age?: number; home?: string } {
    const g = GENDERS[this.gender[i]];
    const a = this.age[i];
    const h = this.home[i];
    return {
      carrier: CARRIERS[this.carrier[i]],
      gender: g,
      age: a === AGE_UNKNOWN ? undefined : a,
      home: h ? String(h).padStart(6, '0') : undefined,
    };
  }

  /** Subscriber `i`'s number, as a string (see {@link numberString}). */
  msisdnOf(i: number): string {
    return numberString(this.msisdn[i]);
  }
}
