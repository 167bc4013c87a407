import { atom } from './privacy.ts';
import { ENTRY, IN, K_FIVE, K_HOUR, LEFT, OUT, type HistoryRange, type HistoryRow } from './history-query.ts';
import type { RecentMoves } from './recent-moves.ts';
import { secs } from './time.ts';

/**
 * {@link historyRows} from the moves held in memory (`recent` must cover the earliest of the
 * range's starts): the same rows, by the same rules, with the region given as a mask over cell
 * indexes (membership by cell, as the cell-key filter) and `keyOf` the cells' stored keys. No
 * ClickHouse round trip.
 */
export function recentRows(recent: RecentMoves, inRegion: Uint8Array, keyOf: ArrayLike<number>, at: number, r: HistoryRange): HistoryRow[] {
  const k = Math.max(1, Math.floor(r.k ?? 1));
  const atS = secs(at);
  const edgeS = secs(r.subsEdge);
  const subsS = secs(r.subsFrom);
  const in5 = secs(r.in5From),
    in1h = secs(r.in1hFrom),
    out5 = secs(r.out5From),
    out1h = secs(r.out1hFrom);
  // Flow bucket → crossing pair → distinct people.
  const inKeys = new Map<number, Map<string, Set<number>>>();
  const outKeys = new Map<number, Map<string, Set<number>>>();
  const add = (m: Map<number, Map<string, Set<number>>>, key: number, pair: string, sub: number) => {
    let pairs = m.get(key);
    if (!pairs) m.set(key, (pairs = new Map()));
    let set = pairs.get(pair);
    if (!set) pairs.set(pair, (set = new Set()));
    set.add(sub);
  };
  // Per (settled | fresh) × person and pair: the last entry (a first sighting counts), the last outflow.
  const entry = [new Map<string, number>(), new Map<string, number>()];
  const left = [new Map<string, number>(), new Map<string, number>()];
  const max = (m: Map<string, number>, id: string, t: number) => {
    const o = m.get(id);
    if (o === undefined || t > o) m.set(id, t);
  };
  const from = Math.min(in5, in1h, out5, out1h, subsS);
  recent.crossings(inRegion, from, atS, (t, sub, f, c) => {
    const toIn = inRegion[c] === 1;
    const pair = `${f >= 0 ? keyOf[f]! : 0}\t${keyOf[c]!}`;
    if (toIn) {
      if (f >= 0) {
        if (t >= in1h) add(inKeys, Math.floor(t / 3600) * 3600 * 8 + K_HOUR, pair, sub);
        if (t >= in5) add(inKeys, Math.floor(t / 300) * 300 * 8 + K_FIVE, pair, sub);
      }
      if (t >= subsS) max(entry[t < edgeS ? 0 : 1]!, `${sub}\t${pair}`, t);
    } else {
      if (t >= out1h) add(outKeys, Math.floor(t / 3600) * 3600 * 8 + K_HOUR, pair, sub);
      if (t >= out5) add(outKeys, Math.floor(t / 300) * 300 * 8 + K_FIVE, pair, sub);
      if (t >= subsS) max(left[t < edgeS ? 0 : 1]!, `${sub}\t${pair}`, t);
    }
  });
  const out: HistoryRow[] = [];
  const sums = (d: number, m: Map<number, Map<string, Set<number>>>) => {
    for (const [key, pairs] of m) {
      let v = 0;
      for (const subs of pairs.values()) v += atom(subs.size, k);
      out.push([d, key, v, 0, 0]);
    }
  };
  sums(IN, inKeys);
  sums(OUT, outKeys);
  const perPerson = (d: number, m: Map<string, number>) => {
    for (const [id, t] of m) {
      const [sub, a, b] = id.split('\t');
      out.push([d, Number(sub), t, Number(a), Number(b)]);
    }
  };
  for (let p = 0; p < 2; p++) {
    perPerson(ENTRY + p, entry[p]!);
    perPerson(LEFT + p, left[p]!);
  }
  return out;
}
