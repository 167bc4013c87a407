import type { ChangeLog, PresenceState } from '../sink/presence-state.ts';

/**
 * How far ahead of insight's clock a carrier's clock may run (ms). A live query counts an event
 * stamped up to this far in the future: without it, someone whose phone just reported with a
 * clock a few seconds ahead vanished from the population until insight's clock caught up (the
 * live figure jumped down and back with nobody moving).
 * @default 60 s
 */
export const CLOCK_SKEW_MS = 60_000;

/** The instant presence is read at for a live query at `at`: the newest event applied, within the allowed skew. */
export const liveInstant = (state: PresenceState, at: number): number => Math.min(Math.max(at, state.watermark), at + CLOCK_SKEW_MS);

/** Present subscribers grouped by cell: members of cell c are `members[start[c] .. start[c+1])`. */
export interface CellGroups {
  at: number;
  start: Uint32Array;
  members: Uint32Array;
}

/**
 * Who is present where, at one instant, shared by every region query and heat-map request within
 * `maxAgeMs`: a region then visits only its own cells' members instead of every subscriber, and the
 * portal's polling of many regions costs one build per interval.
 *
 * A live build is proportional to what changed since the last one (#24), not to the subscribers
 * (a counting sort of all 10M every 2 s was ~300 ms of CPU at province scale): {@link LiveGroups}
 * keeps each subscriber's cell in the groups, and updates it for those whose place changed (the
 * sink's {@link ChangeLog}), those whose last event fell past the staleness limit since (an expiry
 * queue by event time), and those whose event stamped ahead of the last build's instant is now due;
 * then the members array is copied cell run by cell run, changed cells filtered. Replays (`live`
 * false) and a first build, a build at an earlier instant or more than the staleness limit on, or after more
 * changes than a quarter of the subscribers sort everything as before ({@link buildGroups}).
 * Cells new since the last build join with nobody in them.
 */
export class PresenceIndex {
  private cached?: { groups: CellGroups; builtAt: number; cells: number };
  private live?: LiveGroups;

  constructor(
    private readonly state: PresenceState,
    private readonly maxAgeMs = 2000,
    private readonly clock = () => performance.now(),
  ) {}

  /**
   * Groups at `at`; `live` lets a recent index (built < maxAgeMs ago, for a nearby `at`) be reused,
   * and reads presence at {@link liveInstant} (events from carrier clocks slightly ahead count).
   */
  groups(at: number, live: boolean): CellGroups {
    if (!live) return buildGroups(this.state, at);
    at = liveInstant(this.state, at);
    const c = this.cached;
    if (c && c.cells === this.state.cells.size && Math.abs(c.groups.at - at) < this.maxAgeMs && this.clock() - c.builtAt < this.maxAgeMs)
      return c.groups;
    this.live ??= new LiveGroups(this.state);
    const groups = this.live.at(at);
    this.cached = { groups, builtAt: this.clock(), cells: this.state.cells.size };
    return groups;
  }
}

/** Width of the expiry queue's buckets (ms of event time). */
const EXPIRY_BUCKET_MS = 5_000;

/** A growable list of subscriber indexes. */
class IndexList {
  a = new Int32Array(16);
  n = 0;
  push(i: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = i;
  }
}

/**
 * Live groups kept from build to build (see {@link PresenceIndex}). `where[i]` is subscriber i's
 * cell + 1 in the groups (0: not present). Every present subscriber has an entry in the expiry
 * queue at the bucket of its event time or an earlier one (an entry is moved on to the subscriber's
 * newer time when its bucket comes due, and dropped once it is not present): so the buckets up to
 * the staleness edge hold everyone who may have gone stale.
 */
export class LiveGroups {
  private groups?: CellGroups;
  private where = new Int32Array(0);
  private queued = new Uint8Array(0);
  private readonly expiry = new Map<number, IndexList>();
  /** The lowest bucket that may hold entries. */
  private low = 0;
  /** Subscribers with an event stamped after the last build's instant (not present yet). */
  private ahead = new Set<number>();
  private readonly log: ChangeLog;
  private spare: Uint32Array = new Uint32Array(0);
  /** Builds that sorted everything / that updated by changes, for tests and metrics. */
  full = 0;
  updates = 0;

  constructor(private readonly state: PresenceState) {
    this.log = state.track();
  }

  at(at: number): CellGroups {
    let g = this.groups;
    const changed = this.log.take();
    if (!g || !changed || at < g.at || at - g.at > this.state.stalenessMs) return this.rebuild(at);
    const n = this.state.cells.size;
    if (g.start.length < n + 1) {
      // Cells new since: no one there yet.
      const start = new Uint32Array(n + 1);
      start.set(g.start);
      start.fill(g.start[g.start.length - 1]!, g.start.length);
      g = { at: g.at, start, members: g.members };
    }
    this.updates++;
    return this.update(g, changed, at);
  }

  private grow(): void {
    const n = this.state.count;
    if (this.where.length >= n) return;
    const size = Math.max(n, Math.ceil(this.where.length * 1.5), 1024);
    const w = new Int32Array(size);
    w.set(this.where);
    this.where = w;
    const q = new Uint8Array(size);
    q.set(this.queued);
    this.queued = q;
  }

  private enqueue(i: number, ts: number): void {
    const b = Math.floor(ts / EXPIRY_BUCKET_MS);
    let list = this.expiry.get(b);
    if (!list) this.expiry.set(b, (list = new IndexList()));
    list.push(i);
    this.queued[i] = 1;
  }

  private rebuild(at: number): CellGroups {
    this.full++;
    const groups = buildGroups(this.state, at);
    this.grow();
    const { where, state } = this;
    where.fill(0);
    this.queued.fill(0);
    this.expiry.clear();
    this.ahead.clear();
    const { start, members } = groups;
    for (let c = 0; c + 1 < start.length; c++)
      for (let j = start[c]!; j < start[c + 1]!; j++) {
        const i = members[j]!;
        where[i] = c + 1;
        this.enqueue(i, state.ts[i]!);
      }
    const { cell, ts, detached } = state;
    for (let i = 0; i < state.count; i++) if (cell[i]! >= 0 && detached[i] === 0 && ts[i]! > at) this.ahead.add(i);
    this.low = Math.floor((at - state.stalenessMs) / EXPIRY_BUCKET_MS);
    this.groups = groups;
    return groups;
  }

  private update(g: CellGroups, changed: number[], at: number): CellGroups {
    this.grow();
    const { state, where } = this;
    const { cell, ts, detached } = state;
    const edge = at - state.stalenessMs;
    const n = state.cells.size;
    const delta = new Int32Array(n);
    const touched = new Uint8Array(n);
    const added: number[] = [];
    let moved = 0;
    // Whether i is present at `at`, and its cell in the groups then; queued, or remembered as ahead.
    const visit = (i: number) => {
      const t = ts[i]!;
      const c = cell[i]!;
      const eligible = c >= 0 && detached[i] === 0;
      const now = eligible && t <= at && t > edge ? c + 1 : 0;
      if (eligible && t > at) this.ahead.add(i);
      const was = where[i]!;
      if (now !== 0 && this.queued[i] === 0) this.enqueue(i, t);
      if (now === was) return;
      where[i] = now;
      moved++;
      if (was !== 0) {
        delta[was - 1]!--;
        touched[was - 1] = 1;
      }
      if (now !== 0) {
        delta[now - 1]!++;
        touched[now - 1] = 1;
        added.push(i);
      }
    };
    for (const i of changed) visit(i);
    for (const i of this.ahead)
      if (ts[i]! <= at || cell[i]! < 0 || detached[i] !== 0) {
        this.ahead.delete(i);
        visit(i);
      }
    // Expiry: every bucket up to the staleness edge; a bucket wholly past it is emptied.
    const last = Math.floor(edge / EXPIRY_BUCKET_MS);
    for (let b = this.low; b <= last; b++) {
      const list = this.expiry.get(b);
      if (!list) continue;
      const keep = new IndexList();
      for (let k = 0; k < list.n; k++) {
        const i = list.a[k]!;
        if (where[i] === 0) {
          this.queued[i] = 0;
          continue;
        }
        const t = ts[i]!;
        const tb = Math.floor(t / EXPIRY_BUCKET_MS);
        if (t <= edge) {
          this.queued[i] = 0;
          visit(i);
        } else if (tb > b) {
          this.queued[i] = 0;
          this.enqueue(i, t);
        } else keep.push(i);
      }
      if (keep.n > 0) this.expiry.set(b, keep);
      else this.expiry.delete(b);
    }
    if (last > this.low) this.low = last;
    if (moved === 0) return (this.groups = { at, start: g.start, members: g.members });
    // The new runs: unchanged cells' runs copied whole (adjacent ones in one copy), changed cells'
    // filtered of those who left and followed by those who came.
    const start = new Uint32Array(n + 1);
    for (let c = 0; c < n; c++) start[c + 1] = start[c]! + (g.start[c + 1]! - g.start[c]!) + delta[c]!;
    const total = start[n]!;
    const members =
      this.spare.length >= total && this.spare.buffer !== g.members.buffer ? this.spare.subarray(0, total) : new Uint32Array(total);
    const byCell = new Map<number, number[]>();
    for (const i of added) {
      const c = where[i]! - 1;
      let l = byCell.get(c);
      if (!l) byCell.set(c, (l = []));
      l.push(i);
    }
    const old = g.members;
    let c = 0;
    while (c < n) {
      if (touched[c] === 0) {
        let e = c;
        while (e < n && touched[e] === 0) e++;
        members.set(old.subarray(g.start[c]!, g.start[e]!), start[c]!);
        c = e;
        continue;
      }
      let p = start[c]!;
      for (let j = g.start[c]!; j < g.start[c + 1]!; j++) {
        const i = old[j]!;
        if (where[i] === c + 1) members[p++] = i;
      }
      for (const i of byCell.get(c) ?? []) members[p++] = i;
      c++;
    }
    // The old members array is written over by the build after next (queries read groups synchronously).
    this.spare = new Uint32Array(old.buffer);
    return (this.groups = { at, start, members });
  }
}

export function buildGroups(state: PresenceState, at: number): CellGroups {
  const n = state.cells.size;
  const start = new Uint32Array(n + 1);
  const count = state.count;
  const where = new Int32Array(count);
  // `isPresent` inlined over local arrays: this pass runs over every subscriber (10M at province
  // scale) every 2 s, and reading the arrays through `state` on each step cost about half of it.
  const { cell, ts, detached } = state;
  const after = at - state.stalenessMs;
  let present = 0;
  for (let i = 0; i < count; i++) {
    const c = cell[i]!;
    const t = ts[i]!;
    if (c >= 0 && detached[i] === 0 && t <= at && t > after) {
      where[i] = c;
      start[c + 1]!++;
      present++;
    } else where[i] = -1;
  }
  for (let c = 0; c < n; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, n);
  const members = new Uint32Array(present);
  for (let i = 0; i < count; i++) {
    const c = where[i]!;
    if (c >= 0) members[fill[c]!++] = i;
  }
  return { at, start, members };
}
