import { CARRIERS } from '@geo/ingest';
import type { PerCarrier, ReachReply, ReachRequest } from '../contract.ts';
import { compileRegion } from '../geofence/point-in-region.ts';
import { NO_CELL, type Presence } from '../presence/presence.ts';
import { grant as grantFor, passesRules } from '../rules/evaluate.ts';
import { shanghaiDay } from '../rules/shanghai-time.ts';
import type { BudgetScope } from './budget.ts';
import type { PersonViews } from './person-view.ts';

/** Cells per reach reply message: ~30 B a cell in JSON keeps a message far below NATS's 1 MB payload limit. */
const REACH_CELLS_PER_PART = 10_000;

/** What a reach estimate reads: this instance's presence, the rules' view of a person, and a task's budget use. */
export interface ReachSource {
  presence: Presence;
  views: PersonViews;
  peek(s: BudgetScope): Promise<{ dailyUsed: number; totalUsed: number; balance: number }>;
  instance: string;
  now(): number;
}

/**
 * Reach estimate over this instance's presence: per carrier and serving cell, the people present
 * in the region and those passing the rules (raw: the portal sums every instance's cells and
 * thresholds each (cell, carrier) count, see {@link ReachReply}), and how many more today's caps
 * allow. Cells go in messages of at most `cellsPerPart` cells.
 */
export async function reachReplies(
  src: ReachSource,
  req: ReachRequest,
  shards: number[],
  cellsPerPart = REACH_CELLS_PER_PART,
): Promise<ReachReply[]> {
  const t0 = performance.now();
  const now = src.now();
  const p = src.presence;
  const cells = p.cells;
  const region = compileRegion(req.region);
  const inRegion = new Uint8Array(cells.size);
  for (let c = 0; c < cells.size; c++) inRegion[c] = region.contains(cells.lng[c], cells.lat[c]) ? 1 : 0;
  const present = [0, 0, 0],
    passing = [0, 0, 0];
  const cellPresent = new Int32Array(cells.size),
    cellPassing = new Int32Array(cells.size);
  for (let i = 0; i < p.size; i++) {
    const c = p.cell[i];
    if (c === NO_CELL || !inRegion[c] || !p.isPresent(i, now)) continue;
    present[p.carrier[i]]++;
    cellPresent[c]++;
    if (req.rules.length === 0 || passesRules(req.rules, src.views.of(i))) {
      passing[p.carrier[i]]++;
      cellPassing[c]++;
    }
  }
  // Per carrier and id (entries of one id at several positions are one cell to the reader).
  const out: { ids: string[]; present: number[]; passing: number[]; at: Map<string, number> }[] = CARRIERS.map(() => ({
    ids: [],
    present: [],
    passing: [],
    at: new Map(),
  }));
  let total = 0;
  for (let c = 0; c < cells.size; c++) {
    if (cellPresent[c] === 0) continue;
    const o = out[cells.carrier[c]]!;
    const id = cells.ids[c]!;
    const k = o.at.get(id);
    if (k !== undefined) {
      o.present[k]! += cellPresent[c];
      o.passing[k]! += cellPassing[c];
      continue;
    }
    o.at.set(id, o.ids.length);
    o.ids.push(id);
    o.present.push(cellPresent[c]);
    o.passing.push(cellPassing[c]);
    total++;
  }
  const allowed = [0, 0, 0];
  const remaining: ReachReply['remaining'] = {};
  await Promise.all(
    CARRIERS.map(async (carrier, ci) => {
      const q = req.quota[carrier];
      if (!q) {
        if (Object.keys(req.quota).length) remaining[carrier] = 0;
        return void (allowed[ci] = Object.keys(req.quota).length ? 0 : passing[ci]);
      }
      const used = req.taskId
        ? await src.peek({
            taskId: req.taskId,
            accountId: '',
            carrier,
            day: shanghaiDay(now),
            quota: q,
            initialBalance: Number.MAX_SAFE_INTEGER,
          })
        : { dailyUsed: 0, totalUsed: 0, balance: Number.MAX_SAFE_INTEGER };
      remaining[carrier] = Math.max(0, Math.min(q.dailyCap - used.dailyUsed, q.total - used.totalUsed));
      allowed[ci] = grantFor(passing[ci], q, used).granted;
    }),
  );
  const pc = (a: number[]): PerCarrier => ({ cmcc: a[0], cucc: a[1], ctcc: a[2] });
  const parts = Math.max(1, Math.ceil(total / cellsPerPart));
  const replies: ReachReply[] = [];
  // Cells in carrier order, cut every `cellsPerPart`.
  let carrier = 0,
    from = 0;
  for (let part = 0; part < parts; part++) {
    const cellsOut: NonNullable<ReachReply['cells']> = {};
    let room = cellsPerPart;
    while (room > 0 && carrier < CARRIERS.length) {
      const o = out[carrier]!;
      const to = Math.min(o.ids.length, from + room);
      if (to > from)
        cellsOut[CARRIERS[carrier]] = {
          ids: o.ids.slice(from, to),
          present: o.present.slice(from, to),
          passing: o.passing.slice(from, to),
        };
      room -= to - from;
      if (to >= o.ids.length) {
        carrier++;
        from = 0;
      } else from = to;
    }
    replies.push({
      v: 1,
      instance: src.instance,
      shards,
      present: pc(present),
      passing: pc(passing),
      allowedToday: pc(allowed),
      cells: cellsOut,
      remaining,
      part,
      parts,
      tookMs: performance.now() - t0,
    });
  }
  return replies;
}
