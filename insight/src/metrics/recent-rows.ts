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
  // A crossing pair by the cells' dense indexes (from -1: a first sighting), as one number: a big
  // region's scan meets tens of thousands of crossings, and keying them by strings of 52-bit cell
  // keys (made per move) was most of its cost. Keys are looked up once per row at the end.
  const N = keyOf.length;
  const pairOf = (f: number, c: number) => (f + 1) * N + c;
  // Flow bucket → crossing pair → distinct people.
  const inKeys = new Map<number, Map<number, Set<number>>>();
  const outKeys = new Map<number, Map<number, Set<number>>>();
  const add = (m: Map<number, Map<number, Set<number>>>, key: number, pair: number, sub: number) => {
    let pairs = m.get(key);
    if (!pairs) m.set(key, (pairs = new Map()));
    let set = pairs.get(pair);
    if (!set) pairs.set(pair, (set = new Set()));
    set.add(sub);
  };
  // Per (settled | fresh) × pair × person: the last entry (a first sighting counts), the last outflow.
  type Times = Map<number, Map<number, number>>;
  const entry: Times[] = [new Map(), new Map()];
  const left: Times[] = [new Map(), new Map()];
  const max = (m: Times, pair: number, sub: number, t: number) => {
    let subs = m.get(pair);
    if (!subs) m.set(pair, (subs = new Map()));
    const o = subs.get(sub);
    if (o === undefined || t > o) subs.set(sub, t);
  };
  const from = Math.min(in5, in1h, out5, out1h, subsS);
  recent.crossings(inRegion, from, atS, (t, sub, f, c) => {
    const pair = pairOf(f, c);
    if (inRegion[c] === 1) {
      if (f >= 0) {
        if (t >= in1h) add(inKeys, Math.floor(t / 3600) * 3600 * 8 + K_HOUR, pair, sub);
        if (t >= in5) add(inKeys, Math.floor(t / 300) * 300 * 8 + K_FIVE, pair, sub);
      }
      if (t >= subsS) max(entry[t < edgeS ? 0 : 1]!, pair, sub, t);
    } else {
      if (t >= out1h) add(outKeys, Math.floor(t / 3600) * 3600 * 8 + K_HOUR, pair, sub);
      if (t >= out5) add(outKeys, Math.floor(t / 300) * 300 * 8 + K_FIVE, pair, sub);
      if (t >= subsS) max(left[t < edgeS ? 0 : 1]!, pair, sub, t);
    }
  });
  const out: HistoryRow[] = [];
  const sums = (d: number, m: Map<number, Map<number, Set<number>>>) => {
    for (const [key, pairs] of m) {
      let v = 0;
      for (const subs of pairs.values()) v += atom(subs.size, k);
      out.push([d, key, v, 0, 0]);
    }
  };
  sums(IN, inKeys);
  sums(OUT, outKeys);
  const perPerson = (d: number, m: Times) => {
    for (const [pair, subs] of m) {
      const c = pair % N;
      const f = (pair - c) / N - 1;
      const a = f >= 0 ? keyOf[f]! : 0;
      const b = keyOf[c]!;
      for (const [sub, t] of subs) out.push([d, sub, t, a, b]);
    }
  };
  for (let p = 0; p < 2; p++) {
    perPerson(ENTRY + p, entry[p]!);
    perPerson(LEFT + p, left[p]!);
  }
  return out;
}
