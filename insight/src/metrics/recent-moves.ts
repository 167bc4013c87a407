/**
 * The moves of the last `keepMs` of event time, in memory, exactly as the sink writes them to
 * ClickHouse (`insight_moves_to`). With the service's default (25 h, `MOVES_KEEP_MS`) they hold every
 * per-person window a region query needs — "last hour", "since midnight" (Asia/Shanghai) and dwell's
 * 8 h, i.e. since min(midnight, now − 8 h), at most 24 h back — and the flow series after the last
 * filled pair hour, so a region's first query and its polls read their moves here instead of from
 * ClickHouse (#24 part 2). There, a big region read all of its cells' moves of up to 16 hours (a
 * 2,601-cell region: ~1.5 s at 1M subscribers), and a poll all of today's rows of its cells,
 * because a granule holds the moves of ~50 cells and a time filter pruned nothing.
 *
 * **Coverage.** Every move with a time (whole seconds, as stored) after {@link completeAfterS} is
 * held: before {@link start}, nothing is; then everything after the restored checkpoint's
 * watermark (a move newer than every event applied before the restart can only have been applied
 * since), and once {@link adopt} took the older moves read back from ClickHouse, everything since
 * their start; eviction raises it to the newest time evicted. Moves are held in the order they were
 * applied (late events included), and evicted from the oldest applied once older than `keepMs`
 * before the newest event.
 *
 * **Storage.** Chunks of `chunkSize` moves (typed arrays: time s, MSISDN, from and to cell index):
 * 20 bytes a move, plus the last chunk's unused tail. A chunk remembers its oldest and newest time,
 * so a poll's scan of the last minutes skips the rest of the day whole.
 */
export class RecentMoves {
  /** Every move with a time (s) greater than this is held. */
  completeAfterS = Number.POSITIVE_INFINITY;
  private chunks: MoveChunk[] = [];
  size = 0;
  /** Region queries answered from here (no ClickHouse read of moves), for tests and metrics. */
  served = 0;
  /**
   * Moves recorded more than `lateMs` of event time before the newest one (a feed that lagged): a
   * poll's cached "settled" history may lack them, so caches are dropped when this grows.
   */
  late = 0;
  private newestS = 0;
  /** The newest time (s) evicted so far. */
  private evictedS = -1;

  constructor(
    readonly keepMs = MOVES_KEEP_MS,
    readonly chunkSize = 1 << 16,
    readonly lateMs = 10 * 60_000,
  ) {}

  /** From now on, moves after `watermarkMs` (the restored state's newest event) are all here. */
  start(watermarkMs: number): void {
    this.completeAfterS = Math.max(Math.floor(watermarkMs / 1000), this.evictedS);
  }

  /** Whether every move at or after `fromMs` (whole seconds) is held. */
  covers(fromMs: number): boolean {
    return Math.floor(fromMs / 1000) > this.completeAfterS;
  }

  /** Bytes held by the chunks' arrays (20 a move, whole chunks). */
  get bytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.ts.length;
    return n * BYTES_PER_MOVE;
  }

  /** A move at `tsMs` of subscriber `sub` (MSISDN) from cell index `from` (-1: first sighting) to `to`. */
  record(tsMs: number, sub: number, from: number, to: number): void {
    const s = Math.floor(tsMs / 1000);
    if (s > this.newestS) {
      this.newestS = s;
      this.evict(s - Math.floor(this.keepMs / 1000));
    } else if (s < this.newestS - this.lateMs / 1000) this.late++;
    // The last chunk may be one adopted from ClickHouse (when nothing was recorded before), trimmed to its moves.
    let c = this.chunks[this.chunks.length - 1];
    if (!c || c.n === c.ts.length) this.chunks.push((c = newChunk(this.chunkSize)));
    push(c, s, sub, from, to);
    this.size++;
  }

  /**
   * Older moves read back from ClickHouse after a restart (`moves`, made by {@link MoveLoader}):
   * every move with a time in [fromS, toS]. They go before everything recorded, and every move after
   * `fromS − 1` is held from now on — unless memory no longer holds everything after `toS` (moves
   * were evicted past it meanwhile), which would leave a gap: then they are dropped.
   * @returns whether they were taken.
   */
  adopt(fromS: number, toS: number, moves: MoveChunk[]): boolean {
    if (!(this.completeAfterS <= toS)) return false;
    let n = 0;
    for (const c of moves) n += c.n - c.head;
    this.chunks = [...moves, ...this.chunks];
    this.size += n;
    this.completeAfterS = Math.max(fromS - 1, this.evictedS);
    if (this.newestS > 0) this.evict(this.newestS - Math.floor(this.keepMs / 1000));
    return true;
  }

  /** Calls `fn` for every move held with a time (s) in [fromS, toS], in the order held. */
  scan(fromS: number, toS: number, fn: (tsS: number, sub: number, from: number, to: number) => void): void {
    for (const c of this.chunks) {
      if (c.maxS < fromS || c.minS > toS) continue;
      const { ts, sub, from, to } = c;
      for (let k = c.head; k < c.n; k++) {
        const t = ts[k]!;
        if (t >= fromS && t <= toS) fn(t, sub[k]!, from[k]!, to[k]!);
      }
    }
  }

  /**
   * Calls `fn` for every move held with a time (s) in [fromS, toS] that crosses the edge of the
   * region `inRegion` (a mask over cell indexes): into it (from a cell outside or a first sighting)
   * or out of it. The test runs in the loop, so a scan of a day of moves costs one pass over the
   * arrays; `fn` sees only the few moves that cross.
   */
  crossings(inRegion: Uint8Array, fromS: number, toS: number, fn: (tsS: number, sub: number, from: number, to: number) => void): void {
    for (const c of this.chunks) {
      if (c.maxS < fromS || c.minS > toS) continue;
      const { ts, from, to } = c;
      const n = c.n;
      for (let k = c.head; k < n; k++) {
        const f = from[k]!;
        if (inRegion[to[k]!] === (f < 0 ? 0 : inRegion[f])) continue;
        const t = ts[k]!;
        if (t >= fromS && t <= toS) fn(t, c.sub[k]!, f, to[k]!);
      }
    }
  }

  private evict(beforeS: number): void {
    while (this.chunks.length > 0) {
      const c = this.chunks[0]!;
      while (c.head < c.n && c.ts[c.head]! < beforeS) {
        const t = c.ts[c.head]!;
        if (t > this.evictedS) this.evictedS = t;
        c.head++;
        this.size--;
      }
      // A chunk still filling stays (even when empty): the next move goes there.
      if (c.head < c.n || this.chunks.length === 1) break;
      this.chunks.shift();
    }
    // Before start() nothing is covered (Infinity stays); after it, what was evicted is not held.
    if (this.evictedS > this.completeAfterS) this.completeAfterS = this.evictedS;
  }
}

/**
 * 25 h: "since midnight" reaches back 24 h at most, plus a carrier's clock ahead (≤ 60 s) and margin.
 * The service's `INSIGHT_MOVES_HOURS`.
 */
export const MOVES_KEEP_MS = 25 * 3_600_000;
const BYTES_PER_MOVE = 4 + 8 + 4 + 4;

/** A run of moves in typed arrays: live ones are [head, n). */
export interface MoveChunk {
  ts: Uint32Array;
  sub: Float64Array;
  from: Int32Array;
  to: Int32Array;
  head: number;
  n: number;
  /** Oldest and newest time (s) ever put here. */
  minS: number;
  maxS: number;
}

export function newChunk(size: number): MoveChunk {
  return {
    ts: new Uint32Array(size),
    sub: new Float64Array(size),
    from: new Int32Array(size),
    to: new Int32Array(size),
    head: 0,
    n: 0,
    minS: Number.POSITIVE_INFINITY,
    maxS: -1,
  };
}

/** `c` in arrays of just its moves (a chunk no more moves go into: its unused tail freed). */
export function trimmed(c: MoveChunk): MoveChunk {
  if (c.n === c.ts.length) return c;
  return { ...c, ts: c.ts.slice(0, c.n), sub: c.sub.slice(0, c.n), from: c.from.slice(0, c.n), to: c.to.slice(0, c.n) };
}

/** Appends a move to `c` (which has room). */
export function push(c: MoveChunk, s: number, sub: number, from: number, to: number): void {
  const k = c.n++;
  c.ts[k] = s;
  c.sub[k] = sub;
  c.from[k] = from;
  c.to[k] = to;
  if (s < c.minS) c.minS = s;
  if (s > c.maxS) c.maxS = s;
}
