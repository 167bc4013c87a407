/** Late data (events out of order across feeds) is waited for this long before a bucket is cached. */
export const GRACE_MS = 10 * 60_000;

export interface Plan {
  lo: number;
  cached?: Map<number, number>;
}

interface Entry {
  /** Rows cached cover buckets in [from, upTo). */
  from: number;
  upTo: number;
  rows: Map<number, number>;
}

/**
 * Settled history per region: the portal polls the same regions every few seconds, and buckets
 * older than a few minutes no longer change (snapshots are written once; moves arrive in order
 * within the grace period). Each poll then only reads the newest buckets from ClickHouse.
 */
export class HistoryCache {
  private readonly entries = new Map<string, Entry>();
  /** The late moves seen (`RecentMoves.late`) when the entries were last known good. */
  lateSeen = 0;
  constructor(private readonly max = 512) {}

  /** Forgets everything (a move arrived later than the grace period: settled buckets may be wrong). */
  clear(): void {
    this.entries.clear();
  }

  /**
   * Buckets (start ms → value) in [from, at]: cached settled ones plus `fetch(lo)` for the rest,
   * where `fetch(lo)` must return every bucket ≥ lo up to `at`. `unit` aligns the settled edge.
   */
  async series(
    key: string,
    from: number,
    at: number,
    unit: number,
    fetch: (lo: number) => Promise<Map<number, number>>,
  ): Promise<Map<number, number>> {
    const p = this.plan(key, from, at);
    return this.merge(key, from, at, unit, p, await fetch(p.lo));
  }

  /**
   * Where a fetch for `key` must start (`lo`): after the cached settled buckets, or at `from`.
   * Lets one query fetch several series (`merge` each afterwards).
   */
  plan(key: string, from: number, at: number): Plan {
    const hit = this.entries.get(key);
    const usable = hit && hit.from <= from && hit.upTo > from && hit.upTo <= at;
    return usable ? { lo: hit.upTo, cached: hit.rows } : { lo: from };
  }

  /**
   * Cached buckets from the plan plus `fresh` (every bucket ≥ plan.lo); caches the settled part:
   * buckets older than the grace period before `settledAt` (`at`, or the newest event the sink has
   * applied when it is behind: what it has not read yet is not settled).
   */
  merge(key: string, from: number, at: number, unit: number, plan: Plan, fresh: Map<number, number>, settledAt = at): Map<number, number> {
    const out = new Map<number, number>();
    if (plan.cached) for (const [b, v] of plan.cached) if (b >= from && b < plan.lo) out.set(b, v);
    for (const [b, v] of fresh) if (b >= plan.lo) out.set(b, v);
    const settled = Math.floor((Math.min(at, settledAt) - GRACE_MS) / unit) * unit;
    if (settled > from) {
      const rows = new Map<number, number>();
      for (const [b, v] of out) if (b < settled) rows.set(b, v);
      this.entries.delete(key);
      this.entries.set(key, { from, upTo: settled, rows });
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    return out;
  }
}
