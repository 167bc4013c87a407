import { edgeStep, noHysteresis, type EdgeHysteresis, type EdgeState } from '@geo/infra/basics';

/** A member who stepped out but has not left yet (edge hysteresis): when they entered, and their edge state. */
interface Away {
  entered: number;
  state: EdgeState;
}

/**
 * Who is inside one task's region, by subscriber index, and since when: one bit per subscriber
 * (a city-wide task's start enters a million people; a `Map` of them cost a fifth of the
 * activation's CPU in inserts, lookups and GC, BENCHMARKS.md session 17) and, for the few who
 * moved from cell to cell inside the region, the time they entered it.
 *
 * Whoever did not move since entering entered when they reached their current cell (presence's
 * `sinceSec`), so only a move within the region needs an entry of its own ({@link moved}); leaving
 * the region drops it. *
 * With edge hysteresis (the task's `hysteresis`; the rule is `@geo/infra/basics` edge-hysteresis) a
 * member who steps out ({@link stepOut}) is no member (nobody outside is sent) but is held as away,
 * with their entry time, until the rule says they left; coming back before that ({@link add}) is no
 * new entry: their dwell goes on from the first one.
 */
export class Membership {
  private bits = new Uint32Array(0);
  private n = 0;
  /** Subscriber index → when they entered (epoch seconds), for members who changed cell inside since. */
  private readonly movedIn = new Map<number, number>();
  /** Subscriber index → members who stepped out and have not left yet. */
  private readonly away = new Map<number, Away>();

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
   * a member). `capacity`: subscribers known, so that the set grows once. Someone away (see
   * {@link stepOut}) who has not left by `atSec` under `h` comes back with their first entry time.
   */
  add(i: number, capacity: number, atSec = 0, h?: EdgeHysteresis): void {
    if (this.away.size) {
      const a = this.away.get(i);
      if (a) {
        this.away.delete(i);
        if (!edgeStep(a.state, 'inside', atSec, h).entered && !this.has(i)) {
          this.setBit(i, capacity);
          this.movedIn.set(i, a.entered);
          return;
        }
      }
    }
    this.setBit(i, capacity);
  }

  private setBit(i: number, capacity: number): void {
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

  private clear(i: number): void {
    const w = i >>> 5;
    if (w >= this.bits.length) return;
    const m = 1 << (i & 31);
    if (!(this.bits[w] & m)) return;
    this.bits[w] &= ~m;
    this.n--;
    if (this.movedIn.size) this.movedIn.delete(i);
  }

  /** Subscriber `i` left for good (stale, detached from this instance, outside after a rescan): no longer away either. */
  delete(i: number): void {
    this.clear(i);
    if (this.away.size) this.away.delete(i);
  }

  /** People who stepped out and have not left yet. */
  get awaySize(): number {
    return this.away.size;
  }

  isAway(i: number): boolean {
    return this.away.size > 0 && this.away.has(i);
  }

  /**
   * Member `i` stepped out of the region at `atSec` into `zone` (`near`: within the buffer; `far`);
   * they had reached the cell they left at `prevSinceSec`. Without hysteresis they left.
   */
  stepOut(i: number, atSec: number, zone: 'near' | 'far', prevSinceSec: number, h?: EdgeHysteresis): void {
    if (!this.has(i)) return this.seenAway(i, atSec, zone, h);
    const entered = this.enteredSec(i, prevSinceSec);
    this.clear(i);
    if (noHysteresis(h)) return;
    const r = edgeStep({ phase: 'in', farSince: -1 }, zone, atSec, h);
    if (r.state.phase === 'away') this.away.set(i, { entered, state: r.state });
  }

  /** Someone away was seen outside again (`near` or `far`): they may have left now. */
  seenAway(i: number, atSec: number, zone: 'near' | 'far', h?: EdgeHysteresis): void {
    const a = this.away.size ? this.away.get(i) : undefined;
    if (!a) return;
    const r = edgeStep(a.state, zone, atSec, h);
    if (r.state.phase === 'away') a.state = r.state;
    else this.away.delete(i);
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
