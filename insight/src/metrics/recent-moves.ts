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
 * their start; eviction raises it to the newest time evicted. Moves older than `keepMs` before the
 * newest event are evicted: from the chunks, the oldest applied first; a segment, whole once all
 * of its moves are that old (so up to one segment's span more is held, though not covered: a
 * segment's moves past keepMs count as evicted).
 *
 * **Storage.** Moves are recorded into chunks of `chunkSize` (typed arrays: time s, MSISDN, from
 * and to cell index; 20 bytes a move), in the order applied (late events included). Sealed chunks
 * are merged, a run at a time, into **segments sorted by to cell** ({@link Segment}), each closed at
 * `segmentMovesPerCell` moves a cell seen or `segmentSpanMs` of event time, whichever comes first
 * (1.3M moves or ~20 min at ten million subscribers on 20,000 cells; an hour at one million): the
 * same columns in cell order plus the positions ordered by from cell, 24 bytes a move. Chunks and
 * segments remember their oldest and newest time, so a poll's scan of the last minutes skips the
 * rest of the day whole.
 *
 * **Why segments (#24).** A region's {@link crossings} reads, per segment, only the runs of its own
 * cells — the moves into them (contiguous) and out of them — instead of the whole day's: at ten
 * million subscribers a first query scanned all 83M moves (~0.5 s of CPU) whatever the region's
 * size. Segments are big so that a cell's run holds dozens of moves (a run costs a cache miss or
 * two whatever its length; per 65,536-move chunk a cell had ~3, and reading by cell was slower than
 * the scan).
 */
export class RecentMoves {
  /** Every move with a time (s) greater than this is held. */
  completeAfterS = Number.POSITIVE_INFINITY;
  /** In the order applied; all but the last are sealed, waiting to be merged into a segment. */
  private chunks: MoveChunk[] = [];
  private segments: Segment[] = [];
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
  /** One past the highest cell index seen: segments grow with the cells. */
  private cellsSeen = 0;

  constructor(
    readonly keepMs = MOVES_KEEP_MS,
    readonly chunkSize = 1 << 16,
    readonly lateMs = 10 * 60_000,
    readonly segmentMovesPerCell = 64,
    readonly segmentSpanMs = 3_600_000,
  ) {}

  /** From now on, moves after `watermarkMs` (the restored state's newest event) are all here. */
  start(watermarkMs: number): void {
    this.completeAfterS = Math.max(Math.floor(watermarkMs / 1000), this.evictedS);
  }

  /** Whether every move at or after `fromMs` (whole seconds) is held. */
  covers(fromMs: number): boolean {
    return Math.floor(fromMs / 1000) > this.completeAfterS;
  }

  /** Bytes held by the moves' columns: 20 a move (chunks whole, segments as filled). */
  get bytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.ts.length;
    for (const s of this.segments) n += s.ts.length;
    return n * BYTES_PER_MOVE;
  }

  /** Bytes held by the segments' cell index: the positions by from cell (4 a move) and where each cell's runs start. */
  get indexBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.byFrom.byteLength + s.toStart.byteLength + s.fromStart.byteLength;
    return n;
  }

  /** Moves merged into segments (the rest wait in chunks). */
  get segmented(): number {
    let n = 0;
    for (const s of this.segments) n += s.ts.length;
    return n;
  }

  /** A move at `tsMs` of subscriber `sub` (MSISDN) from cell index `from` (-1: first sighting) to `to`. */
  record(tsMs: number, sub: number, from: number, to: number): void {
    const s = Math.floor(tsMs / 1000);
    if (s > this.newestS) {
      this.newestS = s;
      this.evict(s - Math.floor(this.keepMs / 1000));
    } else if (s < this.newestS - this.lateMs / 1000) this.late++;
    if (to >= this.cellsSeen) this.cellsSeen = to + 1;
    if (from >= this.cellsSeen) this.cellsSeen = from + 1;
    // The last chunk may be one adopted from ClickHouse (when nothing was recorded before), trimmed to its moves.
    let c = this.chunks[this.chunks.length - 1];
    if (!c || c.n === c.ts.length) {
      this.chunks.push((c = newChunk(this.chunkSize)));
      // A chunk was sealed: merge a segment's worth when there is one (a sort of ≤ ~1.3M moves).
      this.mergeSegment();
    }
    push(c, s, sub, from, to);
    this.size++;
  }

  /**
   * Older moves read back from ClickHouse after a restart (`moves`, made by {@link MoveLoader}):
   * every move with a time in [fromS, toS]. They go before everything recorded, and every move after
   * `fromS − 1` is held from now on — unless memory no longer holds everything after `toS` (moves
   * were evicted past it meanwhile), which would leave a gap: then they are dropped. They wait in
   * chunks until merged into segments ({@link mergeSegment}, which the caller may drive).
   * @returns whether they were taken.
   */
  adopt(fromS: number, toS: number, moves: MoveChunk[]): boolean {
    if (!(this.completeAfterS <= toS)) return false;
    let n = 0;
    for (const c of moves) {
      n += c.n - c.head;
      for (let k = c.head; k < c.n; k++) if (c.to[k]! >= this.cellsSeen) this.cellsSeen = c.to[k]! + 1;
    }
    this.chunks = [...moves, ...this.chunks];
    this.size += n;
    this.completeAfterS = Math.max(fromS - 1, this.evictedS);
    if (this.newestS > 0) this.evict(this.newestS - Math.floor(this.keepMs / 1000));
    return true;
  }

  /**
   * Merges the oldest sealed chunks into one segment when they hold a segment's worth (moves or
   * span): one sort, a bounded pause. @returns whether it did.
   */
  mergeSegment(): boolean {
    const sealed = this.chunks.length - 1;
    const target = Math.max(this.chunkSize, this.cellsSeen * this.segmentMovesPerCell);
    const spanS = this.segmentSpanMs / 1000;
    let n = 0;
    let minS = Number.POSITIVE_INFINITY;
    let maxS = -1;
    let j = 0;
    while (j < sealed && n < target && maxS - minS < spanS) {
      const c = this.chunks[j++]!;
      n += c.n - c.head;
      if (c.n > c.head) {
        minS = Math.min(minS, c.minS);
        maxS = Math.max(maxS, c.maxS);
      }
    }
    if (n < target && !(maxS - minS >= spanS)) return false;
    const taken = this.chunks.splice(0, j);
    if (n > 0) this.segments.push(sortByCell(taken, n, this.cellsSeen));
    return true;
  }

  /** Calls `fn` for every move held with a time (s) in [fromS, toS]: segments' in cell order, then the chunks' in the order applied. */
  scan(fromS: number, toS: number, fn: (tsS: number, sub: number, from: number, to: number) => void): void {
    const each = (c: Columns, head: number) => {
      if (c.maxS < fromS || c.minS > toS) return;
      const { ts, sub, from, to } = c;
      for (let k = head; k < c.n; k++) {
        const t = ts[k]!;
        if (t >= fromS && t <= toS) fn(t, sub[k]!, from[k]!, to[k]!);
      }
    };
    for (const s of this.segments) each(s, 0);
    for (const c of this.chunks) each(c, c.head);
  }

  /**
   * Calls `fn` for every move held with a time (s) in [fromS, toS] that crosses the edge of the
   * region `inRegion` (a mask over cell indexes): into it (from a cell outside or a first sighting)
   * or out of it, each once, in no particular order. A segment is read by the region's cells: the
   * run of moves to each (kept when they come from outside) and from each (kept when they go
   * outside) — unless the region is so big that one pass over the segment costs less; the chunks
   * not merged yet (the last up to ~20 min or hour) in one pass, the test in the loop. `fn` sees
   * only the moves that cross.
   */
  crossings(inRegion: Uint8Array, fromS: number, toS: number, fn: (tsS: number, sub: number, from: number, to: number) => void): void {
    let cells: Int32Array | undefined;
    for (const s of this.segments) {
      if (s.maxS < fromS || s.minS > toS) continue;
      cells ??= regionCells(inRegion);
      if (RUN_COST * cells.length < s.n) segmentCrossings(s, cells, inRegion, fromS, toS, fn);
      else passCrossings(s, 0, inRegion, fromS, toS, fn);
    }
    for (const c of this.chunks) if (!(c.maxS < fromS || c.minS > toS)) passCrossings(c, c.head, inRegion, fromS, toS, fn);
  }

  /**
   * Calls `fn` for every move held with a time (s) in [fromS, toS] into or out of a cell of
   * `cells` (a mask over cell indexes), each once, in no particular order: {@link scan} filtered to
   * the moves touching those cells, a segment read by their runs (as {@link crossings}).
   */
  touching(cells: Uint8Array, fromS: number, toS: number, fn: MoveFn): void {
    let list: Int32Array | undefined;
    const pass = (c: Columns, head: number) => {
      const { ts, sub, from, to } = c;
      for (let k = head; k < c.n; k++) {
        const f = from[k]!;
        if (cells[to[k]!] !== 1 && (f < 0 || cells[f] !== 1)) continue;
        const t = ts[k]!;
        if (t >= fromS && t <= toS) fn(t, sub[k]!, f, to[k]!);
      }
    };
    for (const s of this.segments) {
      if (s.maxS < fromS || s.minS > toS) continue;
      list ??= regionCells(cells);
      if (RUN_COST * list.length >= s.n) {
        pass(s, 0);
        continue;
      }
      const { ts, sub, from, to, toStart, byFrom, fromStart } = s;
      const top = toStart.length - 1;
      for (let y = 0; y < list.length; y++) {
        const x = list[y]!;
        if (x >= top) break;
        for (let p = toStart[x]!, end = toStart[x + 1]!; p < end; p++) {
          const t = ts[p]!;
          if (t >= fromS && t <= toS) fn(t, sub[p]!, from[p]!, x);
        }
        // Out of x: those into a cell of the set were met above.
        for (let q = fromStart[x]!, end = fromStart[x + 1]!; q < end; q++) {
          const p = byFrom[q]!;
          const d = to[p]!;
          if (cells[d] === 1) continue;
          const t = ts[p]!;
          if (t >= fromS && t <= toS) fn(t, sub[p]!, x, d);
        }
      }
    }
    for (const c of this.chunks) if (!(c.maxS < fromS || c.minS > toS)) pass(c, c.head);
  }

  private evict(beforeS: number): void {
    if (this.segments.some((s) => s.maxS < beforeS)) {
      for (const s of this.segments)
        if (s.maxS < beforeS) {
          if (s.maxS > this.evictedS) this.evictedS = s.maxS;
          this.size -= s.n;
        }
      this.segments = this.segments.filter((s) => s.maxS >= beforeS);
    }
    // A segment's moves older than keepMs stay until all are, but count as gone: what is covered
    // stays the last keepMs, as with chunks (queries filter them out by time).
    if (beforeS - 1 > this.evictedS && this.segments.some((s) => s.minS < beforeS)) this.evictedS = beforeS - 1;
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

/** Moves in typed arrays, with their oldest and newest time (s). */
interface Columns {
  ts: Uint32Array;
  sub: Float64Array;
  from: Int32Array;
  to: Int32Array;
  n: number;
  minS: number;
  maxS: number;
}

/** A run of moves in typed arrays, in the order applied: live ones are [head, n). */
export interface MoveChunk extends Columns {
  head: number;
  /** Oldest and newest time (s) ever put here. */
  minS: number;
  maxS: number;
}

/**
 * Moves sorted by to cell: cell x's moves in are `[toStart[x], toStart[x + 1])` (x below
 * `toStart.length − 1`; a cell above has none here). `byFrom` lists the positions of the moves
 * that have a from cell (a first sighting has none) ordered by it, cell x's at
 * `byFrom[fromStart[x] .. fromStart[x + 1])`.
 */
export interface Segment extends Columns {
  toStart: Uint32Array;
  byFrom: Uint32Array;
  fromStart: Uint32Array;
}

/** A segment reads a region by its cells' runs while they number under 1/RUN_COST of its moves. */
const RUN_COST = 8;

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

/** The live moves of `chunks` (`n` of them, cells below `cells`) as one segment (a counting sort by to cell, then by from). */
export function sortByCell(chunks: MoveChunk[], n: number, cells: number): Segment {
  const toStart = new Uint32Array(cells + 1);
  const fromStart = new Uint32Array(cells + 1);
  let minS = Number.POSITIVE_INFINITY;
  let maxS = -1;
  for (const c of chunks) {
    const { to, from } = c;
    for (let k = c.head; k < c.n; k++) {
      toStart[to[k]! + 1]!++;
      if (from[k]! >= 0) fromStart[from[k]! + 1]!++;
    }
    if (c.n > c.head) {
      minS = Math.min(minS, c.minS);
      maxS = Math.max(maxS, c.maxS);
    }
  }
  for (let x = 0; x < cells; x++) {
    toStart[x + 1]! += toStart[x]!;
    fromStart[x + 1]! += fromStart[x]!;
  }
  const ts = new Uint32Array(n);
  const sub = new Float64Array(n);
  const from = new Int32Array(n);
  const to = new Int32Array(n);
  const fill = toStart.slice(0, cells);
  for (const c of chunks)
    for (let k = c.head; k < c.n; k++) {
      const x = c.to[k]!;
      const p = fill[x]!++;
      ts[p] = c.ts[k]!;
      sub[p] = c.sub[k]!;
      from[p] = c.from[k]!;
      to[p] = x;
    }
  const byFrom = new Uint32Array(fromStart[cells]!);
  const fillFrom = fromStart.slice(0, cells);
  for (let p = 0; p < n; p++) if (from[p]! >= 0) byFrom[fillFrom[from[p]!]!++] = p;
  return { ts, sub, from, to, n, minS, maxS, toStart, byFrom, fromStart };
}

/** The cells of a region mask, in order. */
function regionCells(inRegion: Uint8Array): Int32Array {
  let n = 0;
  for (let x = 0; x < inRegion.length; x++) if (inRegion[x] === 1) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let x = 0; x < inRegion.length; x++) if (inRegion[x] === 1) out[n++] = x;
  return out;
}

type MoveFn = (tsS: number, sub: number, from: number, to: number) => void;

/** {@link RecentMoves.crossings} over the moves [head, n) of `c`, one pass. */
function passCrossings(c: Columns, head: number, inRegion: Uint8Array, fromS: number, toS: number, fn: MoveFn): void {
  const { ts, from, to } = c;
  const n = c.n;
  for (let k = head; k < n; k++) {
    const f = from[k]!;
    if (inRegion[to[k]!] === (f < 0 ? 0 : inRegion[f])) continue;
    const t = ts[k]!;
    if (t >= fromS && t <= toS) fn(t, c.sub[k]!, f, to[k]!);
  }
}

/** {@link RecentMoves.crossings} of one segment: the runs into and out of each of `cells`. */
function segmentCrossings(s: Segment, cells: Int32Array, inRegion: Uint8Array, fromS: number, toS: number, fn: MoveFn): void {
  const { ts, sub, from, to, toStart, byFrom, fromStart } = s;
  const top = toStart.length - 1;
  for (let y = 0; y < cells.length; y++) {
    const x = cells[y]!;
    if (x >= top) break;
    for (let p = toStart[x]!, end = toStart[x + 1]!; p < end; p++) {
      const f = from[p]!;
      if (f >= 0 && inRegion[f] === 1) continue;
      const t = ts[p]!;
      if (t >= fromS && t <= toS) fn(t, sub[p]!, f, x);
    }
    for (let q = fromStart[x]!, end = fromStart[x + 1]!; q < end; q++) {
      const p = byFrom[q]!;
      const d = to[p]!;
      if (inRegion[d] === 1) continue;
      const t = ts[p]!;
      if (t >= fromS && t <= toS) fn(t, sub[p]!, x, d);
    }
  }
}
