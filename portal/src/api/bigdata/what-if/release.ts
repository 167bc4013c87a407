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
 */
export function releaseWhatIf(parts: readonly WhatIfWireReply[], from: number, k: number, h3Res: number): ReleasedWhatIf {
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
  const per = (x: Record<CarrierKey, number>) => ({
    cmcc: release(x.cmcc, k),
    cucc: release(x.cucc, k),
    ctcc: release(x.ctcc, k),
    total: release(x.cmcc + x.cucc + x.ctcc, k),
  });
  return {
    k,
    reached: per(totals),
    series: series.map((s, b) => ({ at: from + (b + 1) * bucketMs, reached: per(s) })),
    areas: [...hex]
      .filter(([, n]) => n > 0)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([h3, n]) => ({ h3, count: release(n, k) })),
  };
}
