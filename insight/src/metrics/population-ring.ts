import type { ClickHouseClient, Logger } from '@geo/infra';
import { atom } from './privacy.ts';

const FIVE = 300_000;
/** 2,048 five-minute slots: 7 days (2,016) and 2 h 40 min to spare. */
export const RING_SLOTS = 2048;
/** Uint16 slots; a cell with more people (rare) keeps the exact figure in an overflow map. */
const SATURATED = 0xffff;
/** Atoms per Uint16 count, per k asked (`sums`); one k per service. */
const ATOM_TABLES = new Map<number, Uint32Array>();

/**
 * Population per cell at every 5-minute boundary of the last 7 days, in memory: the weekly
 * maximum and the population series of any region are sums over its cells, read here in a few
 * milliseconds instead of a `FINAL` scan of `insight_population` (2,016 rows per cell).
 *
 * Fed by the sink with the same counts it writes to ClickHouse as snapshots (`record`), and
 * restored from those snapshots at start-up (`restore`, in the background): ClickHouse stays the
 * history, a restart loses nothing. Until the restore is done (`ready`), and for replays older than
 * the ring (`covers`), region metrics read ClickHouse as before.
 *
 * Each slot remembers which boundary it holds (`slotBucket`); a newer boundary claims the slot
 * (zeroing it for every cell), an older one never overwrites a newer one. Cells without a row
 * for a boundary it holds had nobody present (ClickHouse stores only cells with people).
 */
export class PopulationRing {
  private cells: Uint16Array[] = [];
  private readonly overflow = new Map<number, number>();
  private readonly slotBucket = new Float64Array(RING_SLOTS);
  /** Writes into each slot so far: a region's cached sums of a slot hold while its count is unchanged. */
  private readonly slotWrites = new Float64Array(RING_SLOTS);
  /** Per region (its cell list, as the resolver keeps it) and k: the sum of atoms per slot, and the writes it saw. */
  private readonly regionSums = new WeakMap<ArrayLike<number>, Map<number, { acc: Float64Array; writes: Float64Array }>>();
  /** The newest boundary held (ms). */
  newest = 0;
  /** Restored from ClickHouse (or nothing to restore). */
  ready = false;

  private slotOf(bucketMs: number): number {
    return Math.floor(bucketMs / FIVE) % RING_SLOTS;
  }

  /** The slot for a boundary, claimed when it holds an older one; -1 when it holds a newer one. */
  private claim(bucketMs: number): number {
    const s = this.slotOf(bucketMs);
    const held = this.slotBucket[s]!;
    if (held === bucketMs) return s;
    if (held > bucketMs) return -1;
    for (const a of this.cells) a[s] = 0;
    if (this.overflow.size) for (const k of [...this.overflow.keys()]) if (k % RING_SLOTS === s) this.overflow.delete(k);
    this.slotBucket[s] = bucketMs;
    this.slotWrites[s]!++;
    if (bucketMs > this.newest) this.newest = bucketMs;
    return s;
  }

  private put(cell: number, s: number, n: number): void {
    while (this.cells.length <= cell) this.cells.push(new Uint16Array(RING_SLOTS));
    const key = cell * RING_SLOTS + s;
    this.slotWrites[s]!++;
    if (n >= SATURATED) this.overflow.set(key, n);
    else if (this.overflow.size) this.overflow.delete(key);
    this.cells[cell]![s] = Math.min(n, SATURATED);
  }

  /** Presence at a boundary as the sink snapshots it: `counts[cell * 4 + carrier]`. */
  record(bucketMs: number, counts: Uint32Array): void {
    const s = this.claim(bucketMs);
    if (s < 0) return;
    for (let c = 0; c < counts.length; c += 4) {
      const n = counts[c]! + counts[c + 1]! + counts[c + 2]! + counts[c + 3]!;
      if (n > 0 || c >> 2 < this.cells.length) this.put(c >> 2, s, n);
    }
  }

  /** One restored snapshot row (a duplicate of a row just sets the same figure again). */
  set(bucketMs: number, cell: number, n: number): void {
    const s = this.claim(bucketMs);
    if (s >= 0) this.put(cell, s, n);
  }

  /** Whether every boundary in `[from, …]` that ClickHouse could hold is held here. */
  covers(from: number): boolean {
    return this.ready && from > this.newest - (RING_SLOTS - 1) * FIVE;
  }

  /**
   * The region's population per boundary in `[from, to]`, nonzero ones only: the sum over `cells`
   * of each cell's count quantised to the grid of `k` (privacy atoms, `atom`; k = 1 sums all).
   *
   * A whole city (2,600 cells × 2,016 boundaries, 5.2M atoms) is summed in a few milliseconds: each
   * cell's slots are added whole, in ring order, through a table of atoms per Uint16 count (`k`'s,
   * 256 KiB, made once), with no per-slot branch or division; the few counts above the Uint16 range
   * are corrected afterwards from the overflow map; a polled region's sums are kept and only the
   * slots written since are summed again. (Was: an atom computed per cell and boundary, ~100 ms of
   * CPU for a whole city, on every poll.)
   */
  sums(cells: ArrayLike<number>, from: number, to: number, k = 1): Map<number, number> {
    const out = new Map<number, number>();
    const first = Math.ceil(from / FIVE) * FIVE;
    const slots: number[] = [];
    const times: number[] = [];
    for (let b = first; b <= to; b += FIVE) {
      const s = this.slotOf(b);
      if (this.slotBucket[s] === b) {
        slots.push(s);
        times.push(b);
      }
    }
    if (slots.length === 0) return out;
    const acc = this.slotSums(cells, k);
    for (let j = 0; j < slots.length; j++) if (acc[slots[j]!]! > 0) out.set(times[j]!, acc[slots[j]!]!);
    return out;
  }

  /**
   * The sum of atoms over `cells` for every slot. Kept per cell list (the resolver hands a polled
   * region the same list while no cell is added): a poll recomputes only the slots written since
   * (the newest boundary or two), not the week.
   */
  private slotSums(cells: ArrayLike<number>, k: number): Float64Array {
    const table = this.atomTable(k);
    let byK = this.regionSums.get(cells);
    if (!byK) this.regionSums.set(cells, (byK = new Map()));
    const hit = byK.get(k);
    if (hit) {
      for (let s = 0; s < RING_SLOTS; s++) {
        if (hit.writes[s] === this.slotWrites[s]) continue;
        let sum = 0;
        for (let x = 0; x < cells.length; x++) {
          const a = this.cells[cells[x]!];
          if (a) sum += table[a[s]!]!;
        }
        hit.acc[s] = sum;
        this.correctOverflow(hit.acc, cells, k, table, s);
        hit.writes[s] = this.slotWrites[s]!;
      }
      return hit.acc;
    }
    const acc = new Float64Array(RING_SLOTS);
    for (let x = 0; x < cells.length; x++) {
      const a = this.cells[cells[x]!];
      if (!a) continue;
      for (let s = 0; s < RING_SLOTS; s++) acc[s]! += table[a[s]!]!;
    }
    this.correctOverflow(acc, cells, k, table);
    byK.set(k, { acc, writes: this.slotWrites.slice() });
    return acc;
  }

  /** A saturated slot was counted as atom(65,535); its exact count is in the overflow map (`only`: one slot). */
  private correctOverflow(acc: Float64Array, cells: ArrayLike<number>, k: number, table: Uint32Array, only?: number): void {
    if (!this.overflow.size) return;
    const listed = new Map<number, number>();
    for (let x = 0; x < cells.length; x++) listed.set(cells[x]!, (listed.get(cells[x]!) ?? 0) + 1);
    for (const [key, n] of this.overflow) {
      const s = key % RING_SLOTS;
      if (only !== undefined && s !== only) continue;
      const m = listed.get(Math.floor(key / RING_SLOTS));
      if (m) acc[s]! += m * (atom(n, k) - table[SATURATED]!);
    }
  }

  /** atom(v, k) for every Uint16 count v. */
  private atomTable(k: number): Uint32Array {
    let t = ATOM_TABLES.get(k);
    if (!t) {
      t = new Uint32Array(SATURATED + 1);
      for (let v = 0; v <= SATURATED; v++) t[v] = atom(v, k);
      ATOM_TABLES.set(k, t);
    }
    return t;
  }

  /**
   * Loads the snapshots of the ring's span up to `upTo` (the last boundary written before this
   * process started) from `insight_population`, one day at a time, yielding between chunks so the
   * service keeps answering. `indexOfKey` maps a stored cell key to the dense cell index.
   */
  async restore(ch: ClickHouseClient, upTo: number, indexOfKey: (key: number) => number | undefined, log?: Logger): Promise<void> {
    const t0 = performance.now();
    let rows = 0;
    const from = upTo - (RING_SLOTS - 1) * FIVE;
    for (let hi = upTo; hi >= from; hi -= 86_400_000) {
      const lo = Math.max(from, hi - 86_400_000 + FIVE);
      // Per cell, the day's boundaries and counts as arrays: 20k groups instead of 5.8M rows.
      const res = await ch.exec({
        query: `SELECT cell, groupArray(toUInt32(bucket)), groupArray(n) FROM insight_population
          WHERE bucket >= toDateTime(${Math.floor(lo / 1000)}) AND bucket <= toDateTime(${Math.floor(hi / 1000)})
          GROUP BY cell FORMAT RowBinary`,
      });
      const chunks: Buffer[] = [];
      for await (const c of res.stream) chunks.push(c as Buffer);
      const buf = Buffer.concat(chunks);
      let p = 0;
      let since = performance.now();
      const varint = () => {
        let v = 0;
        let shift = 0;
        for (;;) {
          const b = buf[p++]!;
          v += (b & 0x7f) * 2 ** shift;
          if (b < 0x80) return v;
          shift += 7;
        }
      };
      while (p < buf.length) {
        const key = buf.readUInt32LE(p) + buf.readUInt32LE(p + 4) * 4294967296;
        p += 8;
        const n1 = varint();
        const tAt = p;
        p += n1 * 4;
        const n2 = varint();
        const nAt = p;
        p += n2 * 4;
        const cell = indexOfKey(key);
        if (cell === undefined) continue;
        for (let j = 0; j < n1; j++) this.set(buf.readUInt32LE(tAt + j * 4) * 1000, cell, buf.readUInt32LE(nAt + j * 4));
        rows += n1;
        if (performance.now() - since > 20) {
          await new Promise<void>((r) => setImmediate(r));
          since = performance.now();
        }
      }
    }
    this.ready = true;
    log?.info({ rows, ms: Math.round(performance.now() - t0) }, 'population ring restored');
  }
}
