/**
 * Throughput in segments per second: a token bucket with a small burst, refilled by elapsed time
 * (no timer per token, so it holds at 20k/s as well as at 10/s).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  readonly burst: number;

  constructor(
    readonly perSecond: number,
    burst?: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.burst = burst ?? Math.max(1, Math.ceil(perSecond / 50));
    this.tokens = this.burst;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.perSecond) / 1000);
    this.last = t;
  }

  /** Takes one token if there is one. */
  take(): boolean {
    if (this.perSecond <= 0) return true;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until a token is available. */
  waitMs(): number {
    if (this.perSecond <= 0) return 0;
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }
}
