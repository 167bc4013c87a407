import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, connectNats, list, selectRows, sql } from '@geo/infra';
import { progressSubject, shanghaiDay } from '@geo/alerting';
import { GroundTruth, type SeenEvent } from '../system/ground-truth.ts';
import { startSystem, type RunningSystem } from '../system/system.ts';
import { submitAndRun, taskDates } from '../system/alert-task.ts';
import { waitQuiet } from '../system/quiesce.ts';
import type { ReceivedMessage, SmscStats } from '../system/smsc-control.ts';

/**
 * Issue 10, faults: the real system (nats-server, clickhouse-server, alerting, messaging, insight,
 * the simulated SMSCs, ingest's province simulator) runs an alert to a region of a simulated
 * population, and during it alerting, messaging and the insight sink are killed with SIGKILL and
 * restarted, nats-server and clickhouse-server restarted, the SMSC drops its SMPP binds and
 * throttles. Afterwards the SMSCs' record is checked against the simulator's ground truth (every
 * event in LOCATION, read independently).
 *
 * The simulator starts an hour in the past and runs 30× faster than the clock, so events are never
 * in the future (a future event would look like a negative dwell) and everyone stays present
 * (younger than the 2 h staleness limit) until the checks; it is stopped when it nears now.
 */

const SUBSCRIBERS = 30_000;
const SIM_SPEED = 30;
const SIM_BEHIND_MS = 60 * 60_000;
const TASK_ID = 'chaos-typhoon';
/** Hangzhou's centre: a rectangle holding a few thousand of the simulated people. */
const REGION = { west: 120.05, south: 30.2, east: 120.25, north: 30.33 };
/** China Telecom's daily cap is below the people it has in the region, so the cap must bite. */
const CTCC_DAILY_CAP = 150;
const OLD_AGE = { min: 70, max: 120 };

const say = (msg: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Inside the rectangle, or undefined within ~1 cm of its edge (too close to call independently). */
function inside(lng: number, lat: number): boolean | undefined {
  const eps = 1e-7;
  const near = (a: number, b: number) => Math.abs(a - b) < eps;
  if (near(lng, REGION.west) || near(lng, REGION.east) || near(lat, REGION.south) || near(lat, REGION.north)) return undefined;
  return lng >= REGION.west && lng <= REGION.east && lat >= REGION.south && lat <= REGION.north;
}
const passes = (last: SeenEvent) => !(last.age !== undefined && last.age >= OLD_AGE.min && last.age <= OLD_AGE.max);

/** Where sending stands: the SMSCs' counters and the services' health, for the log. */
async function progress(s: RunningSystem): Promise<string> {
  const st = await s.smsc.stats().catch(() => []);
  return `SMSC ${st.map((x) => `${x.carrier} binds ${x.binds} accepted ${x.accepted} throttled ${x.throttled} disconnects ${x.disconnects}`).join(' | ')}`;
}

async function health(s: RunningSystem): Promise<string> {
  const out: string[] = [];
  for (const svc of Object.values(s.services)) {
    try {
      const r = await fetch(`http://127.0.0.1:${svc.spec.healthPort}/healthz`, { signal: AbortSignal.timeout(3000) });
      out.push(`${svc.spec.name}: ${r.status} ${await r.text()}`);
    } catch (err) {
      out.push(`${svc.spec.name}: ${(err as Error).message}`);
    }
  }
  return out.join('\n');
}

/** Each alerting instance's latest progress of the task (they publish it every second while it changes). */
async function latestProgress(natsUrl: string, ms = 3000): Promise<string[]> {
  const nc = await connectNats(natsUrl, 'proof-chaos-progress');
  const latest = new Map<string, string>();
  const sub = nc.subscribe(progressSubject(TASK_ID));
  setTimeout(() => sub.unsubscribe(), ms);
  for await (const m of sub) latest.set((m.json() as { instance: string }).instance, m.string());
  await nc.close();
  return [...latest.values()];
}

/** What the system knows of people who qualified and got nothing: their events, their send-log rows, alerting's progress. */
async function explainMissed(s: RunningSystem, o: Outcome, missed: string[]): Promise<string> {
  const some = missed.slice(0, 10).map((m) => m.split(' ')[0]!);
  const ch = connectClickHouse(s.clickhouseUrl);
  const log = await selectRows<Record<string, unknown>>(ch, sql`SELECT * FROM sms_log FINAL WHERE msisdn IN ${list(some)}`.text).catch(
    (e: Error) => [{ error: e.message }],
  );
  await ch.close();
  const people = some.map((m) => {
    const evs = (o.truth.bySubscriber.get(m) ?? []).map(
      (e) => `${new Date(e.ts).toISOString().slice(11, 19)} ${e.kind ?? 'loc'} ${e.cell} ${inside(e.lng, e.lat) ? 'IN' : 'out'}`,
    );
    return `${m}: ${evs.join(' | ')}`;
  });
  return [
    `missed people (first ${some.length}):`,
    ...people,
    `sms_log rows: ${JSON.stringify(log)}`,
    `alerting progress: ${o.progress.join(' ; ')}`,
  ].join('\n');
}

interface Outcome {
  truth: GroundTruth;
  received: Map<string, ReceivedMessage[]>;
  split: ReturnType<GroundTruth['split']>;
  stats: SmscStats[];
  faults: string[];
  window: { from: number; to: number };
  progress: string[];
}

describe('an alert to a simulated province while services and servers fail', () => {
  let sys: RunningSystem | undefined;
  let outcome: Outcome;

  beforeAll(async () => {
    const t0 = Date.now();
    sys = await startSystem({
      subscribers: SUBSCRIBERS,
      simSpeed: SIM_SPEED,
      // Jobs cut off by a kill come back after the ack wait, and one cut off between its claim and
      // the SMSC's answer waits this long for a receipt before it is recorded UNCERTAIN: both
      // shortened (from 60 s and 10 min) so that the run ends within minutes.
      env: {
        messaging: { ACK_WAIT_MS: '15000', UNCERTAIN_RESOLVE_MS: '30000' },
        ingest: { SIM_START: new Date(Date.now() - SIM_BEHIND_MS).toISOString(), SIM_PLAIN_CELL_IDS: '1' },
      },
      // The three carriers name their cells with plain ids (1, 2, 3 …) in their own orders, so one id
      // is a different place in each carrier's network: a cell keyed by id alone would put people in
      // another carrier's place, and the region checks below would see it (invariant 8, issue 18).
      // The three SMSCs number message ids alike (1, 2, 3 …), so a receipt credited to another
      // carrier's job shows below as a job not delivered (invariant 8); and they are strict, refusing
      // a vendor TLV, which messaging does not send by default.
      smscEnv: {
        SMSC_SUCCESS_RATE: '1',
        SMSC_MO_RATE: '0',
        SMSC_LATENCY_MS: '2',
        SMSC_RECEIPT_DELAY_MS: '100',
        SMSC_MESSAGE_IDS: 'sequential',
        SMSC_STRICT: '1',
      },
      say,
    });
    say(`system up in ${Date.now() - t0} ms (${sys.dir})`);
    const s = sys;
    await submitAndRun(s.natsUrl, TASK_ID, {
      alertType: 'typhoon',
      region: { parts: [{ kind: 'rectangle', ...REGION }] },
      subject: 'chaos: typhoon warning',
      content: '台风红色预警：请立即转移到安全地带，远离海边。',
      signature: '应急管理',
      ...taskDates(),
      frequency: 'daily',
      rules: [{ attribute: 'age', action: 'exclude', ...OLD_AGE }],
      quota: {
        cmcc: { total: 100_000, dailyCap: 100_000 },
        cucc: { total: 100_000, dailyCap: 100_000 },
        ctcc: { total: 10_000, dailyCap: CTCC_DAILY_CAP },
      },
      balance: 210_000,
      accountId: 'chaos-account',
      enterpriseId: 'chaos-enterprise',
    });
    // The SMSCs throttle from the start, so sending lasts long enough for the faults to land in it.
    await s.smsc.configure({ throttlePerSecond: 40 });
    const from = Date.now();
    await s.startService('ingest');
    say('simulator running; faults begin');
    const faults: string[] = [];
    const fault = async (name: string, f: () => Promise<void>) => {
      const at = Date.now();
      await f();
      faults.push(`${name} (+${Math.round((at - from) / 1000)} s, ${Date.now() - at} ms)`);
      say(`fault done: ${name} in ${Date.now() - at} ms; ${await progress(s)}`);
    };
    await sleep(2000);
    await fault('kill -9 alerting, restart', () => s.killAndRestart('alerting'));
    await fault('kill -9 messaging, restart', () => s.killAndRestart('messaging'));
    await fault('SMSC drops SMPP binds (every 20 submits) for 8 s', async () => {
      await s.smsc.configure({ disconnectAfter: 20 });
      await sleep(8000);
      await s.smsc.configure({ disconnectAfter: 0 });
    });
    await fault('kill -9 insight sink, restart', () => s.killAndRestart('insight'));
    await fault('restart nats-server', () => s.restartNats({ downMs: 2000 }));
    await fault('restart clickhouse-server', () => s.restartClickHouse({ downMs: 2000 }));
    await fault('kill -9 alerting again, restart', () => s.killAndRestart('alerting'));
    await s.smsc.configure({ throttlePerSecond: 0 });
    // Let the simulator catch up with the clock (events never in the future), then stop it.
    const catchUp = from + SIM_BEHIND_MS / (SIM_SPEED - 1) - 5000;
    if (Date.now() < catchUp) await sleep(catchUp - Date.now());
    await s.stopService('ingest');
    const to = Date.now();
    say(`simulator stopped after ${Math.round((to - from) / 1000)} s; waiting for the system to go quiet`);
    try {
      await waitQuiet(s.natsUrl, ['LOCATION', 'SMS_JOBS'], {
        stableMs: 8000,
        timeoutMs: 180_000,
        say,
        extra: async () => JSON.stringify((await s.smsc.stats()).map((x) => [x.accepted, x.receiptsPending])),
      });
    } catch (err) {
      say(`${(err as Error).message}\n${await progress(s)}\n${await health(s)}`);
      throw err;
    }
    const truth = await GroundTruth.read(s.natsUrl);
    const split = truth.split(inside, passes);
    const candidates = [...new Set([...split.qualifying.keys(), ...split.excludedByRules, ...split.boundary])];
    const received = await s.smsc.countsFor(candidates);
    const stats = await s.smsc.stats();
    outcome = {
      truth,
      received,
      split,
      stats,
      faults,
      window: { from, to },
      progress: await latestProgress(s.natsUrl).catch((e: Error) => [e.message]),
    };
    say(
      `ground truth: ${truth.events} events of ${truth.bySubscriber.size} people; qualifying ${split.qualifying.size}, ` +
        `excluded by rules ${split.excludedByRules.size}, boundary ${split.boundary.size}; SMSC accepted ${stats.map((x) => `${x.carrier} ${x.accepted}`).join(', ')}, ` +
        `throttled ${stats.reduce((n, x) => n + x.throttled, 0)}, disconnects ${stats.reduce((n, x) => n + x.disconnects, 0)}`,
    );
    say(`faults: ${faults.join('; ')}`);
  }, 600_000);

  it('keeps every running service up: no crash under the faults', () => {
    // Counted apart: hung services the liveness probe restarted (see smsc-drops-binds.chaos.test.ts)
    // and start attempts that failed because a server they need at start-up was being restarted
    // (messaging runs its ClickHouse migration at start and exits on ECONNREFUSED; the supervisor
    // starts it again, as `npm start`'s does).
    say(`liveness restarts (hung services): ${sys!.hangs.map((h) => h.service).join(', ') || 'none'}`);
    say(
      `failed starts: ${
        sys!
          .unexpectedExits()
          .filter((e) => e.phase === 'start')
          .map((e) => `${e.service} (code ${e.code})`)
          .join(', ') || 'none'
      }`,
    );
    expect(
      sys!
        .unexpectedExits()
        .filter((e) => e.phase === 'running')
        .map((e) => `${e.service} exited with code ${e.code}`),
    ).toEqual([]);
  });

  afterAll(async () => {
    const exits = sys?.unexpectedExits() ?? [];
    for (const e of exits) say(`unexpected exit of ${e.service} (code ${e.code}, signal ${e.signal}):\n${e.logTail}`);
    await sys?.stop({ keep: process.env.PROOF_KEEP === '1' });
  }, 120_000);

  /** Per recipient: messages per Asia/Shanghai day (a run across midnight may send twice, once per day). */
  const perDay = (msgs: ReceivedMessage[]) => {
    const days = new Map<string, number>();
    for (const m of msgs) days.set(shanghaiDay(m.at), (days.get(shanghaiDay(m.at)) ?? 0) + 1);
    return days;
  };

  it('sends nobody the SMS twice in a day (SIGKILLs, NATS redeliveries, dropped binds, throttling)', () => {
    const twice = [...outcome.received].filter(([, msgs]) => [...perDay(msgs).values()].some((n) => n > 1));
    expect(
      twice.map(([m, msgs]) => `${m}: ${msgs.length} at ${msgs.map((x) => new Date(x.at).toISOString().slice(11, 23)).join(', ')}`),
    ).toEqual([]);
  });

  // Was a known failure (messaging) until 2026-11-26: jobs claimed before a kill -9 but never
  // submitted were given up as failed after UNCERTAIN_RESOLVE_MS, and jobs whose claim could not be
  // stored while nats-server restarted were recorded failed (CLAIM_FAILED). Now the first are sent
  // again when no receipt names them (UNCERTAIN_POLICY=resubmit) and the second are handed back.
  it('sends every qualifying person of the uncapped carriers, and the capped carrier up to its cap', async () => {
    const { qualifying } = outcome.split;
    const missed: string[] = [];
    let ctccQualifying = 0;
    let ctccSent = 0;
    for (const [msisdn, last] of qualifying) {
      const got = (outcome.received.get(msisdn) ?? []).length > 0;
      if (last.carrier === 'ctcc') {
        ctccQualifying++;
        if (got) ctccSent++;
      } else if (!got) missed.push(`${msisdn} (${last.carrier})`);
    }
    say(`qualifying: ${qualifying.size} (ctcc ${ctccQualifying}, of whom sent ${ctccSent}, daily cap ${CTCC_DAILY_CAP})`);
    expect(qualifying.size).toBeGreaterThan(1000);
    if (missed.length) say(await explainMissed(sys!, outcome, missed));
    expect(missed).toEqual([]);
    // The cap bites in this set-up (more ctcc people qualify than it allows) …
    expect(ctccQualifying).toBeGreaterThan(CTCC_DAILY_CAP);
    // … and is never exceeded.
    expect(ctccSent).toBeLessThanOrEqual(CTCC_DAILY_CAP);
  });

  it('sends nobody outside the region or excluded by the rules', () => {
    const excluded = [...outcome.split.excludedByRules].filter((m) => (outcome.received.get(m) ?? []).length > 0);
    expect(excluded).toEqual([]);
    // Everything the SMSCs accepted went to people the ground truth calls qualifying (or too close
    // to the edge to call): the total accepted equals what those people received.
    const toCandidates = [...outcome.received.values()].reduce((n, msgs) => n + msgs.reduce((k, m) => k + m.parts, 0), 0);
    const accepted = outcome.stats.reduce((n, s) => n + s.accepted, 0);
    expect(accepted).toBe(toCandidates);
  });

  it('holds each carrier daily cap at the SMSC', () => {
    const perCarrier = { cmcc: 0, cucc: 0, ctcc: 0 };
    for (const [msisdn, msgs] of outcome.received) {
      if (msgs.length === 0) continue;
      const c = outcome.truth.bySubscriber.get(msisdn)![0]!.carrier;
      perCarrier[c]++;
    }
    say(`recipients per carrier: ${JSON.stringify(perCarrier)}`);
    expect(perCarrier.ctcc).toBeLessThanOrEqual(CTCC_DAILY_CAP);
  });

  // With identical message ids on the three SMSCs, receipts matched by id alone credited jobs
  // with another carrier's outcome and left their own waiting (issue 18): each job's row is its own.
  it("records every SMS the SMSC got as delivered in messaging's send log (ClickHouse sms_log), and nothing else as delivered", async () => {
    const ch = connectClickHouse(sys!.clickhouseUrl);
    try {
      const rows = await selectRows<{ msisdn: string; n: string; status: string }>(
        ch,
        sql`SELECT msisdn, count() AS n, any(status) AS status FROM sms_log FINAL WHERE send_id = ${TASK_ID} GROUP BY msisdn`.text,
      );
      const sentTo = [...outcome.received]
        .filter(([, m]) => m.length > 0)
        .map(([msisdn]) => msisdn)
        .sort();
      const statuses: Record<string, number> = {};
      for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      say(`sms_log: ${rows.length} numbers, statuses ${JSON.stringify(statuses)}`);
      // The SMSCs deliver everything they accept (success rate 1).
      expect(
        rows
          .filter((r) => r.status === 'delivered')
          .map((r) => r.msisdn)
          .sort(),
      ).toEqual(sentTo);
      expect(rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
    } finally {
      await ch.close();
    }
  });

  it("matches insight's presence checkpoint to the ground truth (everyone's newest event, once)", async () => {
    const ch = connectClickHouse(sys!.clickhouseUrl);
    try {
      const { last } = outcome.truth.insightExpectations();
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
      const missing = [...last.keys()].filter((m) => !seen.has(m));
      say(`insight presence: ${rows.length} subscribers; ground truth ${last.size}`);
      expect(wrong.slice(0, 20)).toEqual([]);
      expect(missing.length).toBe(0);
    } finally {
      await ch.close();
    }
  });

  // Was a known failure (seen once, 2026-11-25): after the sink was killed, insight held 30,671
  // distinct moves where the stream has 30,000. Cause: the restarted sink got newer messages first and
  // the unacked older ones only after ack_wait, so a newer event met the older checkpoint and wrote a
  // move that never happened. Fixed in aa3852c (the durable is rewound to its ack floor at start).
  it("records every move once in insight's ClickHouse tables, and no move that did not happen", async () => {
    const ch = connectClickHouse(sys!.clickhouseUrl);
    try {
      const { moves } = outcome.truth.insightExpectations();
      // Moves are kept by destination: `insight_moves_to` since insight's schema v2, `insight_moves` before.
      const tables = new Set(
        (
          await selectRows<{ name: string }>(
            ch,
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN ('insight_moves_to', 'insight_moves')",
          )
        ).map((t) => t.name),
      );
      const movesTable = tables.has('insight_moves_to') ? 'insight_moves_to' : 'insight_moves';
      const [m] = await selectRows<{ n: string }>(
        ch,
        `SELECT count() AS n FROM (SELECT DISTINCT sub, ts, from_cell, to_cell FROM ${movesTable})`,
      );
      say(`insight: ${m!.n} distinct moves in ${movesTable}; ground truth ${moves.size}`);
      expect(Number(m!.n)).toBe(moves.size);
    } finally {
      await ch.close();
    }
  });
});
