import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { CARRIERS, loadAdminAreas, type Carrier, type LocationEvent } from '@geo/ingest';
import { connectClickHouse, selectRows, type ClickHouseClient } from '@geo/infra';
import { answers200, freePort, startTsxProcess, untilReady, type TsxProcess } from '@geo/infra/testing';
// The province simulator is not on ingest's front door; its movements are this test's ground truth.
import { Simulator } from '../../../ingest/src/simulator/simulator.ts';
import { AlertTaskSpec } from '../contract.ts';
import type { RunningEngine } from '../engine/run-engine.ts';
import { circleTask, jobsOf, ownNats, publishEvents, startEngine, until, type OwnNats } from '../testing/engine-kit.ts';
import { WHAT_IF_SUBJECT, WhatIfReply, type WhatIfRequestInput } from './contract.ts';
import { readRegionHistory } from './history.ts';
import { replayTask } from './replay-task.ts';
import { answerWhatIf } from './responder.ts';

/**
 * The acceptance test (#21): the simulator's movements run live through alerting with a
 * task, insight (its own process, as deployed) writes them to ClickHouse, and the replay of the
 * same window with the same draft gives the same people per carrier as were sent.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MIN = 60_000;
const SIM_MIN = 40;
const START = Math.floor((Date.now() - (SIM_MIN + 5) * MIN) / 1000) * 1000;
const END = START + SIM_MIN * MIN;
const DB = `whatif_it_${Date.now().toString(36)}`;

const sim = new Simulator({ areas: loadAdminAreas(), subscribers: 6000, seed: 21, startMs: START });
const events: LocationEvent[] = [];
sim.advanceTo(Math.floor(END / 1000), { push: (_c, _s, json) => void events.push(JSON.parse(json) as LocationEvent) });

/** The busiest place: a 4 km circle around the cell most people were seen in. */
const centre = ((): [number, number] => {
  const people = new Map<string, { n: Set<string>; at: [number, number] }>();
  for (const e of events) {
    let p = people.get(`${e.carrier}:${e.cell}`);
    if (!p) people.set(`${e.carrier}:${e.cell}`, (p = { n: new Set(), at: [e.lng, e.lat] }));
    p.n.add(e.msisdn);
  }
  return [...people.values()].sort((a, b) => b.n.size - a.n.size)[0]!.at;
})();
const spec = AlertTaskSpec.parse(circleTask(centre, 4_000));

/** Distinct moves (second, person, cell) as insight derives them: a first sighting and every cell change. */
function expectedMoves(): number {
  const last = new Map<string, string>();
  const moves = new Set<string>();
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    const cell = `${e.carrier}:${e.cell}`;
    if (last.get(e.msisdn) === cell) continue;
    last.set(e.msisdn, cell);
    moves.add(`${Math.floor(e.ts / 1000)}/${e.msisdn}/${cell}`);
  }
  return moves.size;
}

const byCarrier = (list: { msisdn: string; carrier: string }[]) => {
  const out: Record<string, string[]> = {};
  for (const c of CARRIERS)
    out[c] = list
      .filter((x) => x.carrier === c)
      .map((x) => x.msisdn)
      .sort();
  return out;
};

describe('what-if replay equals a live run over the same movements (#21)', () => {
  let nats: OwnNats;
  let admin: ClickHouseClient;
  let ch: ClickHouseClient;
  let insight: TsxProcess;
  let live: RunningEngine;
  let stopWhatIf: (() => void) | undefined;

  beforeAll(async () => {
    nats = await ownNats('whatif');
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    ch = connectClickHouse(`${inject('clickhouseUrl').replace(/\/$/, '')}/${DB}`);
    const health = await freePort();
    insight = startTsxProcess('insight', 'insight/src/main.ts', {
      cwd: ROOT,
      env: {
        NATS_URL: nats.url,
        CLICKHOUSE_URL: `${inject('clickhouseUrl').replace(/\/$/, '')}/${DB}`,
        HEALTH_PORT: String(health),
        API_PORT: String(await freePort()),
        INSIGHT_LEASES: 'false',
      },
    });
    await untilReady(insight, 'healthy', answers200(`http://127.0.0.1:${health}/healthz`), 180_000);
    live = await startEngine(nats.nc, 'whatif-live');
  }, 240_000);

  afterAll(async () => {
    stopWhatIf?.();
    await live?.stop();
    await insight?.stop(5_000);
    await ch?.close();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
    await admin?.close();
    await nats?.close();
  }, 60_000);

  it('sends the same people per carrier live as the replay of the window says it would', async () => {
    await live.store.submit('t-whatif', spec);
    await until('the live task to run', async () => (await live.store.get('t-whatif'))?.task.state === 'running', 30_000);
    await publishEvents(nats.nc, events);

    // Live: every job the task published (the stream, so duplicates would show).
    let sent: { msisdn: string; carrier: string }[] = [];
    let stable = 0;
    await until(
      'the live sends to settle',
      async () => {
        const n = (await jobsOf(nats.nc, 't-whatif')).length;
        stable = n > 0 && n === sent.length ? stable + 1 : 0;
        if (n !== sent.length) sent = await jobsOf(nats.nc, 't-whatif');
        return stable >= 3;
      },
      120_000,
    );
    // History: every move written by insight.
    const want = expectedMoves();
    await until(
      `insight to write ${want} moves`,
      async () => {
        const [r] = await selectRows<{ n: string }>(
          ch,
          'SELECT count() AS n FROM (SELECT DISTINCT ts, sub, to_cell FROM insight_moves_to)',
        );
        return Number(r?.n ?? 0) >= want;
      },
      120_000,
    );

    const liveBy = byCarrier(sent);
    expect(new Set(sent.map((s) => s.msisdn)).size).toBe(sent.length);
    expect(sent.length).toBeGreaterThan(30);

    // The replay itself: the same people, carrier by carrier.
    const h = await readRegionHistory(ch, spec.region, { from: START, to: END + MIN });
    const r = await replayTask(spec, { from: START, to: END + MIN }, h.before, h.moves);
    expect(byCarrier(r.sends)).toEqual(liveBy);

    // And through alerting's responder (what the portal asks): the same counts per carrier.
    stopWhatIf = answerWhatIf(nats.nc, { instance: 'whatif-test', ch });
    const req: WhatIfRequestInput = { v: 1, spec, from: START, to: END + MIN, bucketMs: 10 * MIN };
    const reply = WhatIfReply.parse((await nats.nc.request(WHAT_IF_SUBJECT, JSON.stringify(req), { timeout: 60_000 })).json());
    expect(reply.error).toBeUndefined();
    const counted = (c: Carrier) => (reply.cells[c]?.n ?? []).reduce((a, b) => a + b, 0);
    for (const c of CARRIERS) expect(counted(c), c).toBe(liveBy[c]!.length);
    expect(reply.buckets).toBe(5);
  }, 300_000);
});
