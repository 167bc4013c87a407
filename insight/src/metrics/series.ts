/** The day and week series and the weekly maximum of a region, from its history's buckets. */
import type { RegionMetrics } from '../api/schemas.ts';
import { kCount } from './privacy.ts';
import type { RegionHistory } from './region-history.ts';
import { FIVE, HOUR, iso } from './time.ts';

/** Weekly maximum: the highest snapshot, or now (`total`) when now is higher (latest wins a tie). */
export function weeklyMax(popAt: Map<number, number>, total: number, at: number): { n: number; at: number } {
  let maxN = -1;
  let maxAt = 0;
  for (const [t, n] of popAt) if (n > maxN || (n === maxN && t > maxAt)) [maxN, maxAt] = [n, t];
  if (total >= maxN) [maxN, maxAt] = [total, at];
  return { n: maxN, at: maxAt };
}

/** 288 five-minute points of the last 24 h and 168 hourly points of the week (an hour's population: its highest snapshot). */
export function series(h: RegionHistory, at: number, k: number): RegionMetrics['series'] {
  const { popAt, inD, outD, inW, outW } = h;
  const day: RegionMetrics['series']['day'] = [];
  for (let t = h.dayFrom; t <= at; t += FIVE) {
    day.push({
      t: iso(t),
      population: kCount(popAt.get(t) ?? 0, k),
      inflow: kCount(inD.get(t) ?? 0, k),
      outflow: kCount(outD.get(t) ?? 0, k),
    });
  }
  const hourMax = new Map<number, number>();
  for (const [t, n] of popAt) {
    const hr = Math.floor(t / HOUR) * HOUR;
    hourMax.set(hr, Math.max(hourMax.get(hr) ?? 0, n));
  }
  const week: RegionMetrics['series']['week'] = [];
  for (let t = h.weekStart; t <= at; t += HOUR) {
    week.push({
      t: iso(t),
      population: kCount(hourMax.get(t) ?? 0, k),
      inflow: kCount(inW.get(t) ?? 0, k),
      outflow: kCount(outW.get(t) ?? 0, k),
    });
  }
  return { day, week };
}
