import { cellIdOf, EVENT_KINDS, type LocationColumns } from '@geo/ingest';
import type { CellDictionary } from './cells.ts';
import { SubscriberIndex } from '@geo/infra/basics';

/** Carrier codes stored in ClickHouse (UInt8). 0 = unknown. */
export const CARRIER_CODE: Record<string, number> = { cmcc: 1, cucc: 2, ctcc: 3 };
export const CARRIER_NAMES = ['unknown', 'cmcc', 'cucc', 'ctcc'] as const;
export const GENDER_CODE: Record<string, number> = { m: 1, f: 2 };
export const AGE_UNKNOWN = 255;

/** Snapshot resolution: presence is written per cell at every 5-minute boundary (event time). */
export const BUCKET_MS = 300_000;

/** Codes in a binary LOCATION batch (ingest's codec) that mean "absent", and the detach kind. */
const COL_GENDER_ABSENT = 0;
const COL_AGE_ABSENT = 255;
const COL_HOME_ABSENT = -1;
const COL_DETACH = EVENT_KINDS.indexOf('detach');

/** Positions inside one JetStream message (a batch holds at most 10,000 events). */
const EVENTS_PER_MESSAGE = 16_384;

/** The stream position of event `i` of message `seq`: strictly increasing along the stream. */
export const streamPos = (seq: number, i: number): number => seq * EVENTS_PER_MESSAGE + i;

/** The part of a location event the state reads (structurally checked by the sink). */
export interface EventLike {
  msisdn: string;
  carrier: string;
  ts: number;
  cell: string;
  lat: number;
  lng: number;
  kind: string;
  gender?: string;
  age?: number;
  home?: string;
}

/** Receives what applying events produces. */
export interface StateSink {
  /** A move: `from` is -1 for a first sighting. Times in ms. */
  move(ts: number, sub: number, from: number, to: number, carrier: number): void;
  /** Presence per cell and carrier at a 5-minute boundary, taken before applying the event that crossed it. */
  snapshot(bucketMs: number, counts: Uint32Array): void;
}

/**
 * Live presence: each subscriber's last cell, time and profile, in typed arrays keyed by a dense
 * index (a Map of a million objects costs GC time; this does not). A subscriber is **present** at
 * time t while its last event is no older than the staleness limit and was not a `detach`.
 *
 * Redelivery is harmless: each subscriber remembers the stream position and time of the last event
 * applied to it, and an event at or before that position and time is skipped.
 */
export class PresenceState {
  count = 0;
  msisdn = new Float64Array(0);
  cell = new Int32Array(0);
  ts = new Float64Array(0);
  carrier = new Uint8Array(0);
  gender = new Uint8Array(0);
  age = new Uint8Array(0);
  home = new Uint32Array(0);
  detached = new Uint8Array(0);
  pos = new Float64Array(0);
  /** The last 5-minute boundary snapshotted (ms), 0 before the first event. */
  lastBoundary = 0;
  /** Highest event time seen (ms). */
  watermark = 0;
  private readonly index: SubscriberIndex;
  private dirtyFlag = new Uint8Array(0);
  private dirtyList: number[] = [];
  /** Per place of the message being applied: its cell's index, -1 until first needed. */
  private placeCell = new Int32Array(512);
  /** Per event of the message being applied: its subscriber's index, -1 when not known yet. */
  private subOf = new Int32Array(512);
  /** Keeps the first pass's reads from being optimised away. */
  private touched = 0;

  constructor(
    readonly cells: CellDictionary,
    readonly stalenessMs = 2 * 3600_000,
    capacity = 1024,
  ) {
    this.index = new SubscriberIndex(capacity);
    this.resize(capacity);
  }

  indexOf(msisdn: number): number | undefined {
    const i = this.index.get(msisdn);
    return i < 0 ? undefined : i;
  }

  /** Whether subscriber `i` is present at `at` (ms). */
  isPresent(i: number, at: number): boolean {
    const t = this.ts[i]!;
    return this.cell[i]! >= 0 && this.detached[i] === 0 && t <= at && t > at - this.stalenessMs;
  }

  /**
   * Applies one event at stream position `pos`. Crossing a 5-minute boundary first reports the
   * snapshot(s) at the boundaries crossed. Returns false when the event was already applied.
   */
  apply(e: EventLike, pos: number, out: StateSink): boolean {
    const ts = e.ts;
    if (ts > this.watermark) {
      this.watermark = ts;
      const b = ts - (ts % BUCKET_MS);
      if (b > this.lastBoundary) this.crossBoundaries(b, out);
    }
    const sub = Number(e.msisdn);
    let i = this.index.get(sub);
    if (i < 0) i = this.add(sub);
    // Already applied: an earlier stream position that is also no newer in time. (Requiring both
    // keeps a re-created stream, whose positions restart at 1, from being ignored.)
    else if (pos <= this.pos[i]! && ts <= this.ts[i]!) return false;
    this.pos[i] = pos;
    if (e.gender !== undefined) this.gender[i] = GENDER_CODE[e.gender] ?? 0;
    if (e.age !== undefined) this.age[i] = e.age;
    if (e.home !== undefined) this.home[i] = Number(e.home);
    const carrier = CARRIER_CODE[e.carrier] ?? 0;
    this.carrier[i] = carrier;
    this.markDirty(i);
    // An older event than the one already applied (clock skew between feeds) updates the
    // profile but not the location.
    if (ts < this.ts[i]!) return true;
    const cell = this.cells.intern(carrier, e.cell, e.lat, e.lng);
    const prev = this.cell[i]!;
    if (prev !== cell) {
      out.move(ts, sub, prev, cell, carrier);
      this.cell[i] = cell;
    }
    this.ts[i] = ts;
    this.detached[i] = e.kind === 'detach' ? 1 : 0;
    return true;
  }

  /**
   * {@link apply} for every event of a decoded LOCATION message (`seq` its stream sequence), read
   * from its columns: no object per event, and each distinct cell id of the message is looked up
   * once (by its bytes in a binary batch). Returns how many events were applied (the rest were
   * already applied). The same rules as `apply`, event by event, in order.
   */
  applyColumns(c: LocationColumns, seq: number, out: StateSink): number {
    const n = c.count;
    const places = c.lat.length;
    // A place's cell per (place, carrier): a cell id names a cell only within its carrier's network.
    if (this.placeCell.length < places * 4) this.placeCell = new Int32Array(Math.max(places * 4, this.placeCell.length * 2));
    const placeCell = this.placeCell;
    placeCell.fill(-1, 0, places * 4);
    const { msisdn, ts: tsCol, place, home, carrier: carrierCol, kind, gender, age } = c;
    const index = this.index;
    const base = streamPos(seq, 0);
    let applied = 0;
    // First pass: every event's subscriber index, and a first touch of its state, with no
    // dependency from one event to the next, so the CPU overlaps the cache misses of many events.
    if (this.subOf.length < n) this.subOf = new Int32Array(Math.max(n, this.subOf.length * 2));
    const subOf = this.subOf;
    const statePos = this.pos,
      stateTs = this.ts,
      stateCell = this.cell;
    let touch = 0;
    for (let e = 0; e < n; e++) {
      const i = index.get(msisdn[e]!);
      subOf[e] = i;
      if (i >= 0) touch += statePos[i]! + stateTs[i]! + stateCell[i]!;
    }
    this.touched = touch;
    for (let e = 0; e < n; e++) {
      const ts = tsCol[e]!;
      if (ts > this.watermark) {
        this.watermark = ts;
        const b = ts - (ts % BUCKET_MS);
        if (b > this.lastBoundary) this.crossBoundaries(b, out);
      }
      const sub = msisdn[e]!;
      const pos = base + e;
      let i = subOf[e]!;
      // Not there in the first pass: new, or added by an earlier event of this message.
      if (i < 0) {
        i = index.get(sub);
        if (i < 0) i = this.add(sub);
      } else if (pos <= this.pos[i]! && ts <= this.ts[i]!) continue;
      applied++;
      this.pos[i] = pos;
      const g = gender[e]!;
      if (g !== COL_GENDER_ABSENT) this.gender[i] = g;
      const a = age[e]!;
      if (a !== COL_AGE_ABSENT) this.age[i] = a;
      const h = home[e]!;
      if (h !== COL_HOME_ABSENT) this.home[i] = h;
      // CARRIERS order (cmcc, cucc, ctcc) is CARRIER_CODE minus one.
      const carrier = carrierCol[e]! + 1;
      this.carrier[i] = carrier;
      if (this.dirtyFlag[i] === 0) {
        this.dirtyFlag[i] = 1;
        this.dirtyList.push(i);
      }
      if (ts < this.ts[i]!) continue;
      const p = place[e]!;
      const pc = p * 4 + carrier;
      let cell = placeCell[pc]!;
      if (cell < 0) cell = placeCell[pc] = this.internPlace(c, p, carrier);
      const prev = this.cell[i]!;
      if (prev !== cell) {
        out.move(ts, sub, prev, cell, carrier);
        this.cell[i] = cell;
      }
      this.ts[i] = ts;
      this.detached[i] = kind[e] === COL_DETACH ? 1 : 0;
    }
    return applied;
  }

  private internPlace(c: LocationColumns, p: number, carrier: number): number {
    const lat = c.lat[p]!,
      lng = c.lng[p]!;
    if (c.idBytes && c.idAt && c.idLen) {
      const bytes = c.idBytes,
        at = c.idAt[p]!,
        len = c.idLen[p]!;
      const known = this.cells.findBytes(carrier, bytes, at, len);
      return known >= 0 ? known : this.cells.intern(carrier, cellIdOf(bytes, at, len), lat, lng);
    }
    return this.cells.intern(carrier, c.cellIds[p]!, lat, lng);
  }

  /** Present people per (cell, carrier) at `at`: counts[cell * 4 + carrier]. */
  countsAt(at: number): Uint32Array {
    const counts = new Uint32Array(this.cells.size * 4);
    for (let i = 0; i < this.count; i++) {
      if (this.isPresent(i, at)) counts[this.cell[i]! * 4 + this.carrier[i]!]!++;
    }
    return counts;
  }

  /** Subscribers changed since the last call (for the checkpoint write). */
  takeDirty(): number[] {
    const d = this.dirtyList;
    this.dirtyList = [];
    for (const i of d) this.dirtyFlag[i] = 0;
    return d;
  }

  /** Marks subscribers dirty again after a failed write. */
  returnDirty(list: number[]): void {
    for (const i of list) this.markDirty(i);
  }

  /** Restores one subscriber from the checkpoint (start-up). */
  restore(row: {
    sub: number;
    cell: number;
    ts: number;
    carrier: number;
    gender: number;
    age: number;
    home: number;
    detached: number;
    pos: number;
  }): void {
    let i = this.index.get(row.sub);
    if (i < 0) i = this.add(row.sub);
    this.cell[i] = row.cell;
    this.ts[i] = row.ts;
    this.carrier[i] = row.carrier;
    this.gender[i] = row.gender;
    this.age[i] = row.age;
    this.home[i] = row.home;
    this.detached[i] = row.detached;
    this.pos[i] = row.pos;
    if (row.ts > this.watermark) this.watermark = row.ts;
  }

  private crossBoundaries(b: number, out: StateSink): void {
    if (this.lastBoundary > 0) {
      // After a long gap everyone has gone stale: no need to write more boundaries than that.
      const skip = b - this.stalenessMs - BUCKET_MS;
      const first = Math.max(this.lastBoundary + BUCKET_MS, skip - (skip % BUCKET_MS));
      for (let t = first; t <= b; t += BUCKET_MS) out.snapshot(t, this.countsAt(t));
    }
    this.lastBoundary = b;
  }

  private markDirty(i: number): void {
    if (this.dirtyFlag[i] === 0) {
      this.dirtyFlag[i] = 1;
      this.dirtyList.push(i);
    }
  }

  private add(sub: number): number {
    if (this.count === this.cell.length) this.resize(this.cell.length * 2);
    const i = this.count++;
    this.index.set(sub, i);
    this.msisdn[i] = sub;
    this.cell[i] = -1;
    this.ts[i] = 0;
    this.age[i] = AGE_UNKNOWN;
    this.pos[i] = -1;
    return i;
  }

  private resize(n: number): void {
    const grow = <T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(n);
      b.set(a);
      return b;
    };
    this.msisdn = grow(this.msisdn, Float64Array);
    this.cell = grow(this.cell, Int32Array);
    this.ts = grow(this.ts, Float64Array);
    this.carrier = grow(this.carrier, Uint8Array);
    this.gender = grow(this.gender, Uint8Array);
    this.age = grow(this.age, Uint8Array);
    this.home = grow(this.home, Uint32Array);
    this.detached = grow(this.detached, Uint8Array);
    this.pos = grow(this.pos, Float64Array);
    this.dirtyFlag = grow(this.dirtyFlag, Uint8Array);
  }
}
