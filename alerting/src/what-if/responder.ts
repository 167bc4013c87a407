import { CARRIERS, type Carrier } from '@geo/ingest';
import type { ClickHouseClient, Logger, NatsConnection } from '@geo/infra';
import { regionIssues } from '../geofence/validate-region.ts';
import type { CityLocator } from '../geofence/city-locator.ts';
import { WHAT_IF_QUEUE, WHAT_IF_SUBJECT, WhatIfRequest, type WhatIfCells, type WhatIfReply } from './contract.ts';
import { haloRegion } from '../engine/edge-zones.ts';
import { historyInWindow, readRegionHistory } from './history.ts';
import { replayTask, type ReplaySend, type ReplayResult } from './replay-task.ts';

/** Cells per reply message (~60 B a cell and bucket in JSON), far below NATS's 1 MB payload limit. */
const CELLS_PER_PART = 4_000;

/** Per carrier and cell, the sends per bucket (see {@link WhatIfCells}), in messages of at most `cellsPerPart` cells. */
export function whatIfReplies(
  instance: string,
  sends: readonly ReplaySend[],
  window: { from: number; to: number; bucketMs: number },
  stats: WhatIfReply['stats'],
  cellsPerPart = CELLS_PER_PART,
): WhatIfReply[] {
  const buckets = Math.ceil((window.to - window.from) / window.bucketMs);
  // carrier → cell id → bucket → n
  const by = new Map<Carrier, Map<string, { lng: number; lat: number; n: Map<number, number> }>>();
  for (const s of sends) {
    let m = by.get(s.carrier);
    if (!m) by.set(s.carrier, (m = new Map()));
    let c = m.get(s.cell);
    if (!c) m.set(s.cell, (c = { lng: s.lng, lat: s.lat, n: new Map() }));
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((s.at - window.from) / window.bucketMs)));
    c.n.set(b, (c.n.get(b) ?? 0) + 1);
  }
  const flat: { carrier: Carrier; id: string; lng: number; lat: number; n: Map<number, number> }[] = [];
  for (const carrier of CARRIERS) for (const [id, c] of by.get(carrier) ?? []) flat.push({ carrier, id, ...c });
  const parts = Math.max(1, Math.ceil(flat.length / cellsPerPart));
  const out: WhatIfReply[] = [];
  for (let part = 0; part < parts; part++) {
    const cells: WhatIfReply['cells'] = {};
    for (const c of flat.slice(part * cellsPerPart, (part + 1) * cellsPerPart)) {
      const x: WhatIfCells = (cells[c.carrier] ??= { ids: [], lng: [], lat: [], cell: [], bucket: [], n: [] });
      const j = x.ids.length;
      x.ids.push(c.id);
      x.lng.push(c.lng);
      x.lat.push(c.lat);
      for (const [b, n] of c.n) {
        x.cell.push(j);
        x.bucket.push(b);
        x.n.push(n);
      }
    }
    out.push({ v: 1, instance, bucketMs: window.bucketMs, buckets, cells, stats, part, parts });
  }
  return out;
}

export interface WhatIfResponderOptions {
  instance: string;
  /** Insight's history; undefined: every request is answered with an error saying so. */
  ch?: ClickHouseClient;
  cityOf?: CityLocator;
  log?: Logger;
}

/**
 * Answers what-if replays (#21) on {@link WHAT_IF_SUBJECT}, one instance per request (queue group):
 * reads the region's history, replays the task and replies with raw per-cell counts. The replay
 * yields to the event loop as it goes, so the live work of this process (LOCATION, leases) is not
 * held up by it. Returns a function that stops answering.
 */
export function answerWhatIf(nc: NatsConnection, opts: WhatIfResponderOptions): () => void {
  const { instance } = opts;
  const fail = (error: string): WhatIfReply => ({
    v: 1,
    instance,
    bucketMs: 0,
    buckets: 0,
    cells: {},
    stats: { regionCells: 0, moves: 0, matched: 0, skipped: {}, readMs: 0, replayMs: 0 },
    part: 0,
    parts: 1,
    error,
  });
  const sub = nc.subscribe(WHAT_IF_SUBJECT, {
    queue: WHAT_IF_QUEUE,
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        try {
          const parsed = WhatIfRequest.safeParse(msg.json());
          if (!parsed.success)
            return msg.respond(
              JSON.stringify(fail(`invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)),
            );
          const req = parsed.data;
          const issues = regionIssues(req.spec.region);
          if (issues.length) return msg.respond(JSON.stringify(fail(`invalid region: ${issues[0]!.message}`)));
          if (!opts.ch) return msg.respond(JSON.stringify(fail('no history: ClickHouse is not configured for alerting')));
          const window = { from: req.from, to: req.to };
          // With edge hysteresis the moves within its buffer matter too (near is not far).
          const [h, windowHasHistory] = await Promise.all([
            readRegionHistory(opts.ch, haloRegion(req.spec.region, req.spec.hysteresis?.bufferMeters ?? 0), window),
            historyInWindow(opts.ch, window),
          ]);
          const t0 = performance.now();
          const r: ReplayResult = await replayTask(req.spec, window, h.before, h.moves, { cityOf: opts.cityOf, yieldEvery: 5_000 });
          const stats = {
            regionCells: h.cells,
            moves: r.moves,
            matched: r.matched,
            skipped: r.skipped,
            readMs: h.readMs,
            replayMs: performance.now() - t0,
            windowHasHistory,
          };
          for (const part of whatIfReplies(instance, r.sends, { ...window, bucketMs: req.bucketMs }, stats))
            msg.respond(JSON.stringify(part));
          opts.log?.info({ ...stats, sends: r.sends.length }, 'what-if replay answered');
        } catch (e) {
          opts.log?.warn({ err: e }, 'what-if replay failed');
          msg.respond(JSON.stringify(fail((e as Error).message)));
        }
      })();
    },
  });
  return () => sub.unsubscribe();
}
