/**
 * The moves of the last `keepMs` of event time, in memory, exactly as the sink writes them to
 * ClickHouse (`insight_moves_to`): a poll of a live region reads its fresh minutes here instead of
 * asking ClickHouse. There, a big region's poll read all of today's rows of its cells, because a
 * granule of today's parts holds the moves of ~50 cells and the "last minutes" filter pruned
 * nothing (a 2,601-cell region: 0.4–0.6 s a poll at 1M subscribers).
 *
 * **Coverage.** Every move with a time (whole seconds, as stored) after {@link completeAfterS} is
 * held: before {@link start}, nothing is; then everything after the restored checkpoint's
 * watermark (a move newer than every event applied before the restart can only have been applied
 * since); eviction raises it to the newest time evicted. Moves are held in the order they were
 * applied (late events included), and evicted from the oldest applied once older than `keepMs`
 * before the newest event. 20 bytes a move.
 */
export class RecentMoves {
  /** Every move with a time (s) greater than this is held. */
  completeAfterS = Number.POSITIVE_INFINITY;
  private tsS: Uint32Array;
  private sub: Float64Array;
  private from: Int32Array;
  private to: Int32Array;
  /** Ring position of the oldest move held, and how many are held. */
  private head = 0;
  size = 0;
  /** Region queries answered from here (no ClickHouse), for tests and metrics. */
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
    readonly keepMs = 90 * 60_000,
    capacity = 1 << 14,
    readonly lateMs = 10 * 60_000,
  ) {
    this.tsS = new Uint32Array(capacity);
    this.sub = new Float64Array(capacity);
    this.from = new Int32Array(capacity);
    this.to = new Int32Array(capacity);
  }

  /** From now on, moves after `watermarkMs` (the restored state's newest event) are all here. */
  start(watermarkMs: number): void {
    this.completeAfterS = Math.max(Math.floor(watermarkMs / 1000), this.evictedS);
  }

  /** Whether every move at or after `fromMs` (whole seconds) is held. */
  covers(fromMs: number): boolean {
    return Math.floor(fromMs / 1000) > this.completeAfterS;
  }

  /** A move at `tsMs` of subscriber `sub` (MSISDN) from cell index `from` (-1: first sighting) to `to`. */
  record(tsMs: number, sub: number, from: number, to: number): void {
    const s = Math.floor(tsMs / 1000);
    if (s > this.newestS) {
      this.newestS = s;
      this.evict(s - Math.floor(this.keepMs / 1000));
    } else if (s < this.newestS - this.lateMs / 1000) this.late++;
    if (this.size === this.tsS.length) this.grow();
    const k = (this.head + this.size) % this.tsS.length;
    this.tsS[k] = s;
    this.sub[k] = sub;
    this.from[k] = from;
    this.to[k] = to;
    this.size++;
  }

  /** Calls `fn` for every move held with a time (s) in [fromS, toS], in the order applied. */
  scan(fromS: number, toS: number, fn: (tsS: number, sub: number, from: number, to: number) => void): void {
    const n = this.tsS.length;
    for (let j = 0, k = this.head; j < this.size; j++, k = k + 1 === n ? 0 : k + 1) {
      const t = this.tsS[k]!;
      if (t >= fromS && t <= toS) fn(t, this.sub[k]!, this.from[k]!, this.to[k]!);
    }
  }

  private evict(beforeS: number): void {
    const n = this.tsS.length;
    while (this.size > 0 && this.tsS[this.head]! < beforeS) {
      const t = this.tsS[this.head]!;
      if (t > this.evictedS) this.evictedS = t;
      this.head = this.head + 1 === n ? 0 : this.head + 1;
      this.size--;
    }
    // Before start() nothing is covered (Infinity stays); after it, what was evicted is not held.
    if (this.evictedS > this.completeAfterS) this.completeAfterS = this.evictedS;
  }

  private grow(): void {
    const n = this.tsS.length;
    const copy = <T extends Uint32Array | Float64Array | Int32Array>(a: T, b: T) => {
      for (let j = 0; j < this.size; j++) b[j] = a[(this.head + j) % n]!;
      return b;
    };
    this.tsS = copy(this.tsS, new Uint32Array(n * 2));
    this.sub = copy(this.sub, new Float64Array(n * 2));
    this.from = copy(this.from, new Int32Array(n * 2));
    this.to = copy(this.to, new Int32Array(n * 2));
    this.head = 0;
  }
}
