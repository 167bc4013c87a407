import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, selectRows } from '@geo/infra';
import { freePort } from '@geo/infra/testing';
import { GroundTruth } from '../system/ground-truth.ts';
import { startSystem, type RunningSystem } from '../system/system.ts';
import { waitQuiet } from '../system/quiesce.ts';
import { ServiceProcess } from '../system/service-process.ts';

/**
 * Issue 19, insight standby: two real insight processes on one nats-server and clickhouse-server,
 * ingest's simulator publishing LOCATION. One holds the sink lease and writes ClickHouse, the other
 * follows the stream as a standby. Mid-stream the holder is killed with SIGKILL; the standby must
 * take the lease over (measured), resume the durable from its ack floor and the checkpoint, and in
 * the end insight's tables must match the ground truth read independently from the stream: every
 * move once and none that did not happen, the presence checkpoint = everyone's newest event. The
 * killed instance comes back; then the holder is paused (SIGSTOP) past the lease ttl, the other
 * takes over, and the old holder, resumed, writes nothing more and becomes a standby. Both answer a
 * region query and the heat map alike.
 */

const SUBSCRIBERS = 20_000;
/**
 * The simulated morning commute (07:30 Shanghai, the latest one at least 3 h ago), at 90× for
 * ~75 s: people move between cells (at night nearly nobody does, and every move would be a first
 * sighting). Queries are compared at the newest event's time.
 */
const SIM_SPEED = 90;
const SIM_RUN_MS = 80_000;
const SIM_START = (() => {
  const day = 86_400_000;
  let t = Math.floor(Date.now() / day) * day - 30 * 60_000; // 23:30 UTC = 07:30 Shanghai
  while (t > Date.now() - 3 * 3600_000) t -= day;
  return t;
})();
const TTL_MS = 3000;

const say = (msg: string) => console.log(`[insight-standby ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function roleOf(healthPort: number): Promise<string> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${healthPort}/healthz`, { signal: AbortSignal.timeout(2000) })).text();
    return /holder \(/.test(text)
      ? 'holder'
      : /standby \(/.test(text)
        ? 'standby'
        : /switching|starting/.test(text)
          ? 'switching'
          : `? ${text.slice(0, 200)}`;
  } catch (err) {
    return `down: ${(err as Error).message}`;
  }
}

describe('insight: a standby takes the sink over when the holder is killed', () => {
  let sys: RunningSystem | undefined;
  let b: ServiceProcess | undefined;
  const figures: string[] = [];
  let truth: GroundTruth;
  let insights: ServiceProcess[] = [];
  let survivor: ServiceProcess;
  let takeoverMs = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    sys = await startSystem({
      subscribers: SUBSCRIBERS,
      simSpeed: SIM_SPEED,
      services: [],
      liveness: false,
      env: {
        // k = 2: the drill compares released figures between instances (privacy has its own tests).
        insight: { INSIGHT_LEASE_TTL_MS: String(TTL_MS), INSTANCE_ID: 'insight-a', INSIGHT_K: '2' },
        ingest: { SIM_START: new Date(SIM_START).toISOString() },
      },
      say,
    });
    const s = sys;
    // Ingest owns and declares LOCATION; the simulator starts at once, insight catches up.
    await s.startService('ingest');
    const from = Date.now();
    await s.startService('insight');
    const a = s.services.insight;
    const bHealth = await freePort();
    b = new ServiceProcess(
      {
        ...a.spec,
        name: 'insight-b',
        healthPort: bHealth,
        env: { ...a.spec.env, HEALTH_PORT: String(bHealth), API_PORT: String(await freePort()), INSTANCE_ID: 'insight-b' },
      },
      s.logDir,
      say,
    );
    b.start();
    await b.waitHealthy(180_000);
    await b.waitForLog(/insight ready/, 180_000);
    insights = [a, b];
    say(`system up in ${Date.now() - t0} ms; two insight processes`);
    // A handover to the instance the rendezvous prefers takes two renewals at most.
    let roles: string[] = [];
    for (let i = 0; i < 40; i++) {
      roles = await Promise.all(insights.map((p) => roleOf(p.spec.healthPort)));
      if (roles.filter((r) => r === 'holder').length === 1 && roles.every((r) => r === 'holder' || r === 'standby')) break;
      await sleep(500);
    }
    expect(roles.filter((r) => r === 'holder')).toHaveLength(1);
    const holder = insights[roles.indexOf('holder')]!;
    survivor = insights[roles.indexOf('standby')]!;
    say(`roles: ${insights.map((p, i) => `${p.spec.name} ${roles[i]}`).join(', ')}`);
    // Mid-stream: the simulator has run ~20 s.
    await sleep(Math.max(0, from + 20_000 - Date.now()));
    const killedAt = Date.now();
    await holder.kill9();
    say(`kill -9 ${holder.spec.name} (the holder)`);
    for (;;) {
      if ((await roleOf(survivor.spec.healthPort)) === 'holder') break;
      if (Date.now() - killedAt > 60_000) throw new Error(`${survivor.spec.name} did not take over within 60 s`);
      await sleep(100);
    }
    takeoverMs = Date.now() - killedAt;
    figures.push(`takeover ${takeoverMs} ms after kill -9 (lease ttl ${TTL_MS} ms; sink consuming again)`);
    say(figures.at(-1)!);
    // The killed instance comes back (a standby, or the holder again if the rendezvous prefers it:
    // then the survivor hands the sink over).
    if (holder === a) await s.startService('insight');
    else {
      const size = holder.logSize();
      holder.start();
      await holder.waitHealthy(180_000);
      await holder.waitForLog(/insight ready/, 180_000, size);
    }
    const settled = async () => {
      for (let i = 0; i < 40; i++) {
        const r = await Promise.all(insights.map((p) => roleOf(p.spec.healthPort)));
        if (r.filter((x) => x === 'holder').length === 1 && r.every((x) => x === 'holder' || x === 'standby')) return r;
        await sleep(500);
      }
      throw new Error('no single holder');
    };
    // A paused holder (SIGSTOP past the lease ttl, as a long GC pause or a frozen VM would) wakes
    // up after the other took the sink over: it must write and ack nothing more, and give up.
    const r2 = await settled();
    const pausedProc = insights[r2.indexOf('holder')]!;
    const other = insights[r2.indexOf('standby')]!;
    const pausedAt = Date.now();
    process.kill(pausedProc.child!.pid!, 'SIGSTOP');
    say(`SIGSTOP ${pausedProc.spec.name} (the holder)`);
    for (;;) {
      if ((await roleOf(other.spec.healthPort)) === 'holder') break;
      if (Date.now() - pausedAt > 60_000) throw new Error(`${other.spec.name} did not take over from the paused holder within 60 s`);
      await sleep(100);
    }
    figures.push(`takeover from a paused holder ${Date.now() - pausedAt} ms`);
    say(figures.at(-1)!);
    await sleep(2000);
    const resumedAt = Date.now();
    process.kill(pausedProc.child!.pid!, 'SIGCONT');
    for (;;) {
      if ((await roleOf(pausedProc.spec.healthPort)) === 'standby') break;
      if (Date.now() - resumedAt > 60_000) throw new Error(`${pausedProc.spec.name} did not give the sink up after waking`);
      await sleep(100);
    }
    figures.push(`the woken old holder was a standby again ${Date.now() - resumedAt} ms after SIGCONT`);
    say(figures.at(-1)!);
    // Let the simulator run on, then stop it and wait for the sink to ack all.
    await sleep(Math.max(0, from + SIM_RUN_MS - Date.now()));
    await s.stopService('ingest');
    await waitQuiet(s.natsUrl, ['LOCATION'], { stableMs: 6000, timeoutMs: 120_000, say });
    truth = await GroundTruth.read(s.natsUrl);
    say(`ground truth: ${truth.events} events of ${truth.bySubscriber.size} people`);
  }, 400_000);

  afterAll(async () => {
    await b?.stop(15_000).catch(() => undefined);
    await sys?.stop();
    if (figures.length) say(`figures: ${figures.join('; ')}`);
  });

  it('took the sink over within the lease ttl plus the restore', () => {
    expect(takeoverMs).toBeGreaterThan(0);
    expect(takeoverMs).toBeLessThan(30_000);
    expect([...sys!.unexpectedExits(), ...(b?.unexpected ?? [])]).toEqual([]);
  });

  it("matches insight's presence checkpoint to the ground truth (everyone's newest event, once)", async () => {
    const ch = connectClickHouse(sys!.clickhouseUrl);
    try {
      const { last } = truth.insightExpectations();
      const rows = await selectRows<{ sub: string; ts: string; detached: string }>(
        ch,
        'SELECT sub, ts, detached FROM insight_presence FINAL',
      );
      const wrong: string[] = [];
      const seen = new Set<string>();
      for (const r of rows) {
        const msisdn = String(r.sub);
        seen.add(msisdn);
        const want = last.get(msisdn);
        if (!want) wrong.push(`${msisdn}: not in the ground truth`);
        else if (Number(r.ts) !== want.ts || (Number(r.detached) === 1) !== want.detached)
          wrong.push(`${msisdn}: ts ${r.ts} detached ${r.detached}, want ${want.ts} ${want.detached}`);
      }
      say(`insight presence: ${rows.length} subscribers; ground truth ${last.size}`);
      expect(wrong.slice(0, 20)).toEqual([]);
      expect([...last.keys()].filter((m) => !seen.has(m))).toEqual([]);
    } finally {
      await ch.close();
    }
  });

  it("records every move once in insight's ClickHouse tables, and no move that did not happen", async () => {
    const ch = connectClickHouse(sys!.clickhouseUrl);
    try {
      const { moves } = truth.insightExpectations();
      const [m] = await selectRows<{ n: string; keys: string }>(
        ch,
        'SELECT count() AS n, uniqExact(sub, ts) AS keys FROM (SELECT DISTINCT sub, ts, from_cell, to_cell FROM insight_moves_to)',
      );
      const [f] = await selectRows<{ n: string }>(
        ch,
        'SELECT count() AS n FROM (SELECT DISTINCT sub, ts, from_cell, to_cell FROM insight_moves_from)',
      );
      say(`insight: ${m!.n} distinct moves (${m!.keys} distinct person-seconds), ${f!.n} by origin; ground truth ${moves.size}`);
      expect(Number(m!.n)).toBe(moves.size);
      expect(Number(m!.keys)).toBe(moves.size);
      expect(Number(f!.n)).toBe(moves.size);
    } finally {
      await ch.close();
    }
  });

  it('answers a region query (at the newest event) and the heat map the same from the new holder and the restarted standby', async () => {
    const apis = insights.map((p) => `http://127.0.0.1:${p.spec.env.API_PORT}`);
    let at = 0;
    for (const evs of truth.bySubscriber.values()) for (const e of evs) at = Math.max(at, e.ts);
    const region = { areas: [], shapes: [{ type: 'rectangle', bbox: [120.05, 30.2, 120.25, 30.33] }] };
    const answers = await Promise.all(
      apis.map(async (api) => {
        const m = await fetch(`${api}/regions/metrics`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ region, at }),
        });
        const h = await fetch(`${api}/heatmap?bbox=119.5,29.5,121,31&zoom=9`);
        expect([m.status, h.status]).toEqual([200, 200]);
        const heat = (await h.json()) as { at: string; cells: unknown[] };
        return { metrics: await m.json(), heat: heat.cells };
      }),
    );
    expect((answers[0]!.metrics as { population: { total: { value: number | null } } }).population.total.value).toBeGreaterThan(0);
    expect(answers[1]).toEqual(answers[0]);
  });
});
