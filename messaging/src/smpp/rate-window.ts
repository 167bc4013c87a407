/**
 * Throughput in segments per second as a carrier counts it: at most `perSecond` sends in any
 * 1,000 ms. A ring holds the times of the last `perSecond` sends; one may go when the oldest of
 * them is a second old.
 *
 * Why not a token bucket: a bucket with a small burst (smooth output) loses capacity whenever the
 * event loop is late by more than the burst's worth of time — on a loaded machine a 100,000-
 * recipient alert then took 30–60 % longer than the carriers' limits allow. A window loses nothing
 * to lateness under a second and never exceeds the carrier's count in any second, aligned or not.
 */
export class RateWindow {
  private readonly ring: Float64Array;
  private next = 0;

  /**
   * @param windowMs the span counted as a second: a little over 1,000 ms (a guard) keeps a strict
   * SMSC, which counts arrival times, from seeing `perSecond + 1` when our sends reach it unevenly
   * late (event-loop lateness, the network). @default 1000
   */
  constructor(
    readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly windowMs = 1000,
  ) {
    this.ring = new Float64Array(Math.max(0, Math.floor(perSecond))).fill(-Infinity);
  }

  /** Counts one send if the window has room. */
  take(): boolean {
    if (this.ring.length === 0) return true;
    const t = this.now();
    if (t - this.ring[this.next]! < this.windowMs) return false;
    this.ring[this.next] = t;
    this.next = (this.next + 1) % this.ring.length;
    return true;
  }

  /**
   * Milliseconds until a send may go, or with `ahead` sends already promised (about to be taken),
   * until one more may: the window must have room for all of them.
   */
  waitMs(ahead = 0): number {
    if (this.ring.length === 0) return 0;
    if (ahead >= this.ring.length) return 1000;
    return Math.max(0, Math.ceil(this.ring[(this.next + ahead) % this.ring.length]! + this.windowMs - this.now()));
  }
}
