/**
 * Who is inside one task's region, by subscriber index, and since when: one bit per subscriber
 * (a city-wide task's start enters a million people; a `Map` of them cost a fifth of the
 * activation's CPU in inserts, lookups and GC, BENCHMARKS.md session 17) and, for the few who
 * moved from cell to cell inside the region, the time they entered it.
 *
 * Whoever did not move since entering entered when they reached their current cell (presence's
 * `sinceSec`), so only a move within the region needs an entry of its own ({@link moved}); leaving
 * the region drops it.
 */
export class Membership {
  private bits = new Uint32Array(0);
  private n = 0;
  /** Subscriber index → when they entered (epoch seconds), for members who changed cell inside since. */
  private readonly movedIn = new Map<number, number>();

  /** People inside. */
  get size(): number {
    return this.n;
  }

  has(i: number): boolean {
    const w = i >>> 5;
    return w < this.bits.length && ((this.bits[w] >>> (i & 31)) & 1) === 1;
  }

  /**
   * Enters subscriber `i`, who reached their current cell at their `sinceSec` (nothing changes for
   * a member). `capacity`: subscribers known, so that the set grows once.
   */
  add(i: number, capacity: number): void {
    const w = i >>> 5;
    if (w >= this.bits.length) {
      const b = new Uint32Array(Math.max(this.bits.length * 2, (capacity >>> 5) + 1, w + 1));
      b.set(this.bits);
      this.bits = b;
    }
    const m = 1 << (i & 31);
    if (this.bits[w] & m) return;
    this.bits[w] |= m;
    this.n++;
  }

  /** Subscriber `i` left the region (or is no longer known here). */
  delete(i: number): void {
    const w = i >>> 5;
    if (w >= this.bits.length) return;
    const m = 1 << (i & 31);
    if (!(this.bits[w] & m)) return;
    this.bits[w] &= ~m;
    this.n--;
    if (this.movedIn.size) this.movedIn.delete(i);
  }

  /**
   * Member `i` changed cell within the region; they had reached the cell they left at `prevSinceSec`.
   * Their entry time stays what it was.
   */
  moved(i: number, prevSinceSec: number): void {
    if (this.has(i) && !this.movedIn.has(i)) this.movedIn.set(i, prevSinceSec);
  }

  /** When member `i` entered (epoch seconds), given when they reached their current cell. */
  enteredSec(i: number, sinceSec: number): number {
    return this.movedIn.size ? (this.movedIn.get(i) ?? sinceSec) : sinceSec;
  }

  /** The members, in ascending subscriber index. */
  members(): Int32Array {
    const out = new Int32Array(this.n);
    const bits = this.bits;
    let k = 0;
    for (let w = 0; w < bits.length; w++) {
      let x = bits[w];
      while (x !== 0) {
        const low = x & -x;
        out[k++] = (w << 5) | (31 - Math.clz32(low));
        x ^= low;
      }
    }
    return out;
  }
}
