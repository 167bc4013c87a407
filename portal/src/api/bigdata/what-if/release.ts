import { atom } from '@geo/insight';
import { latLngToCell } from 'h3-js';
import type { WhatIfReply as WhatIfWireReply } from '@geo/alerting';

const CARRIERS = ['cmcc', 'cucc', 'ctcc'] as const;
type CarrierKey = (typeof CARRIERS)[number];

/** A released count: a number ≥ k, or withheld (null) when under k, zero included (as reach). */
export interface Released {
  value: number | null;
  suppressed: boolean;
}
const release = (n: number, k: number): Released => (n >= k ? { value: n, suppressed: false } : { value: null, suppressed: true });

/** A carrier's budget in the draft: at most `total` sends, at most `dailyCap` a day (Asia/Shanghai). */
export type WhatIfCaps = Partial<Record<CarrierKey, { total: number; dailyCap: number }>>;

const DAY = 86_400_000;
/** The Asia/Shanghai day (UTC+8, no daylight saving) of an instant, as a day number. */
const shanghaiDay = (ms: number) => Math.floor((ms + 8 * 3_600_000) / DAY);

export interface ReleasedWhatIf {
  k: number;
  /** Would have been reached, per carrier and in all. */
  reached: Record<CarrierKey, Released> & { total: Released };
  /** Reached by the end of each bucket (cumulative), per carrier and in all. */
  series: { at: number; reached: Record<CarrierKey, Released> & { total: Released } }[];
  /** Where they were when reached, per hexagon of H3 `h3Res`; hexagons with nothing released are left out. */
  areas: { h3: string; count: Released }[];
}

/**
 * The replay's raw per-cell counts as released (invariant 7), by the reach rule: each (serving
 * cell, carrier) count is an atom on the grid of k (insight's `atom`: 0 under k, else the nearest
 * multiple of k), and every figure is a sum of atoms shown as a number ≥ k or "< k". The series is
 * cumulative, each point's atoms the cells' counts so far: two points differ by a multiple of k, so
 * no bucket tells of fewer than k people. A region and the same region plus a sparse cell answer
 * the same.
 *
 * The draft's caps are applied here, to released figures, as reach's "allowed today" is: the replay
 * runs without them (the route asks for it so). A cap applied inside the replay binds on the first
 * N people reached, so a cell's count became N minus the people other cells took first, with N the
 * requester's to choose one by one: sweeping N put a busy cell's atom on a grid point and gave back
 * a hidden cell's 3 people (what-if-privacy.int). Capped per carrier: each Shanghai day's released
 * increase at most `dailyCap`, the running sum at most `total`; a capped figure may be off the grid
 * (the cap is the requester's own number) and is shown only when the uncapped figure is ≥ k. The
 * areas are uncapped: where the people who qualify were.
 */
export function releaseWhatIf(
  parts: readonly WhatIfWireReply[],
  from: number,
  k: number,
  h3Res: number,
  caps: WhatIfCaps = {},
): ReleasedWhatIf {
  const buckets = Math.max(0, ...parts.map((p) => p.buckets));
  const bucketMs = parts[0]?.bucketMs ?? 0;
  const totals = { cmcc: 0, cucc: 0, ctcc: 0 };
  const series = Array.from({ length: buckets }, () => ({ cmcc: 0, cucc: 0, ctcc: 0 }));
  const hex = new Map<string, number>();
  for (const p of parts)
    for (const c of CARRIERS) {
      const x = p.cells[c];
      if (!x) continue;
      // Per cell of this carrier: sends per bucket.
      const perCell = x.ids.map(() => new Map<number, number>());
      for (let j = 0; j < x.cell.length; j++) {
        const m = perCell[x.cell[j]!];
        if (m) m.set(x.bucket[j]!, (m.get(x.bucket[j]!) ?? 0) + x.n[j]!);
      }
      perCell.forEach((m, i) => {
        let n = 0;
        for (const v of m.values()) n += v;
        const a = atom(n, k);
        totals[c] += a;
        if (a > 0) {
          const h = latLngToCell(x.lat[i]!, x.lng[i]!, h3Res);
          hex.set(h, (hex.get(h) ?? 0) + a);
        }
        let cum = 0;
        for (let b = 0; b < buckets; b++) {
          cum += m.get(b) ?? 0;
          series[b]![c] += atom(cum, k);
        }
      });
    }
  // The caps over the released figures, per carrier: by bucket (each bucket's day: its start's).
  const capped = series.map(() => ({ cmcc: 0, cucc: 0, ctcc: 0 }));
  const reachedCapped = { ...totals };
  for (const c of CARRIERS) {
    const q = caps[c];
    if (!q) {
      series.forEach((s, b) => (capped[b]![c] = s[c]));
      continue;
    }
    let day = shanghaiDay(from),
      dayBase = 0,
      doneDays = 0,
      prev = 0;
    for (let b = 0; b < buckets; b++) {
      const d = shanghaiDay(from + b * bucketMs);
      if (d !== day) {
        doneDays += Math.min(prev - dayBase, q.dailyCap);
        dayBase = prev;
        day = d;
      }
      const now = series[b]![c];
      capped[b]![c] = Math.min(doneDays + Math.min(now - dayBase, q.dailyCap), q.total);
      prev = now;
    }
    reachedCapped[c] = buckets > 0 ? capped[buckets - 1]![c] : Math.min(totals[c], q.total, q.dailyCap);
  }
  /** A capped figure: shown when its uncapped figure is released (≥ k), as reach's allowed figure. */
  const shown = (n: number, uncapped: number): Released => (uncapped >= k && n > 0 ? { value: n, suppressed: false } : release(0, k));
  const per = (x: Record<CarrierKey, number>, raw: Record<CarrierKey, number>) => ({
    cmcc: shown(x.cmcc, raw.cmcc),
    cucc: shown(x.cucc, raw.cucc),
    ctcc: shown(x.ctcc, raw.ctcc),
    total: shown(x.cmcc + x.cucc + x.ctcc, raw.cmcc + raw.cucc + raw.ctcc),
  });
  return {
    k,
    reached: per(reachedCapped, totals),
    series: series.map((s, b) => ({ at: from + (b + 1) * bucketMs, reached: per(capped[b]!, s) })),
    areas: [...hex]
      .filter(([, n]) => n > 0)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([h3, n]) => ({ h3, count: release(n, k) })),
  };
}
