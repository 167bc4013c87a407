import type { Carrier } from '@geo/ingest';
import { CARRIERS, LANGUAGES, languageCode } from '@geo/ingest';
import { SubscriberIndex } from '@geo/infra/basics';
import { CellTable, NO_CELL, growTo } from './cell-table.ts';
import { numberString } from './number-string.ts';

// Presence is split in three: the cells (cell-table.ts), number strings (number-string.ts) and the
// subscribers here. Their front door stays this file.
export { CELL_MOVE_BOUND_M, CellTable, NO_CELL } from './cell-table.ts';
export { numberString } from './number-string.ts';

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
  /** The profile's language, ISO 639-1 (see the ingest contract). */
  lang?: string;
}

const GENDERS = [undefined, 'm', 'f'] as const;
const AGE_UNKNOWN = 255;

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
  /**
   * The profile's language: index in the ingest contract's LANGUAGES + 1, 0 when unknown (#21).
   * One byte a subscriber: a million present at a task's start cost 1 MB more.
   */
  lang: Uint8Array;

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
    this.lang = new Uint8Array(cap);
  }

  /** Subscribers ever seen (present or not). */
  get size(): number {
    return this.n;
  }

  /** Bytes held per tracked subscriber (arrays at their current capacity, plus the hash table). */
  get bytesPerSubscriber(): number {
    const perSlot = 8 + 4 + 4 + 4 + 1 + 1 + 1 + 4 + 1;
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
    this.lang = growTo(this.lang, cap);
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
    if (e.lang) this.lang[i] = languageCode(e.lang);
    this.moveTo(i, prev, e.kind === 'detach' ? NO_CELL : this.cells.intern(ci, e.cell, e.lng, e.lat), sec);
    return i;
  }

  /**
   * {@link apply} for an event given by coded fields (a binary LOCATION batch's columns, no
   * objects): `cell` already interned (NO_CELL for a detach), gender 0 absent / 1 m / 2 f, age 255
   * and home −1 when absent, lang the language's index in LANGUAGES + 1 (0 absent). A profile
   * attribute an event leaves out keeps what an earlier event said.
   */
  applyCoded(msisdn: number, carrier: number, ts: number, cell: number, gender: number, age: number, home: number, lang = 0): number {
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
    if (lang !== 0) this.lang[i] = lang;
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
  profile(i: number): { carrier: Carrier; gender?: 'm' | 'f'; age?: number; home?: string; lang?: string } {
    const g = GENDERS[this.gender[i]];
    const a = this.age[i];
    const h = this.home[i];
    const l = this.lang[i];
    return {
      carrier: CARRIERS[this.carrier[i]],
      gender: g,
      age: a === AGE_UNKNOWN ? undefined : a,
      home: h ? String(h).padStart(6, '0') : undefined,
      lang: l ? LANGUAGES[l - 1] : undefined,
    };
  }

  /** Subscriber `i`'s number, as a string (see {@link numberString}). */
  msisdnOf(i: number): string {
    return numberString(this.msisdn[i]);
  }
}
