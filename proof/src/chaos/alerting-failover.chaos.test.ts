import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { connectNats, type LeaseValue } from '@geo/infra';
import { until } from '@geo/infra/testing';
import { LEASES_BUCKET, shanghaiDay } from '@geo/alerting';
import { GroundTruth, type SeenEvent } from '../system/ground-truth.ts';
import { startSystem, type RunningSystem } from '../system/system.ts';
import { submitAndRun, taskDates } from '../system/alert-task.ts';
import { waitQuiet } from '../system/quiesce.ts';
import type { ReceivedMessage, SmscStats } from '../system/smsc-control.ts';

/**
 * Failover drill (#19, invariant 10) in the whole system: two alerting processes share the LOCATION
 * shards by leases (the default), ingest's province simulator feeds them, and mid-alert the owner of
 * half the shards is killed with SIGKILL. The survivor must own every shard within 10 s; then the
 * killed one is started again and takes its shards back (rebalancing). Afterwards the SMSCs' record is checked against the simulator's ground truth (every event in
 * LOCATION, read independently): every qualifying person of the uncapped carriers sent (including
 * people who walked in while the dead instance's shards had no owner), nobody twice, nobody outside
 * the region, the capped carrier at most at its cap.
 *
 * The simulator starts 20 min in the past at 30× the clock, so it catches up in ~40 s: the whole run
 * stays within a few minutes.
 */

const SUBSCRIBERS = 20_000;
const SIM_SPEED = 30;
const SIM_BEHIND_MS = 20 * 60_000;
const TASK_ID = 'failover-typhoon';
const REGION = { west: 120.05, south: 30.2, east: 120.25, north: 30.33 };
const CTCC_DAILY_CAP = 100;
const TAKEOVER_GOAL_MS = 10_000;

const say = (msg: string) => console.log(`[failover ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inside(lng: number, lat: number): boolean | undefined {
  const eps = 1e-7;
  const near = (a: number, b: number) => Math.abs(a - b) < eps;
  if (near(lng, REGION.west) || near(lng, REGION.east) || near(lat, REGION.south) || near(lat, REGION.north)) return undefined;
  return lng >= REGION.west && lng <= REGION.east && lat >= REGION.south && lat <= REGION.north;
}
const passes = (_last: SeenEvent) => true;

interface Outcome {
  truth: GroundTruth;
  received: Map<string, ReceivedMessage[]>;
  split: ReturnType<GroundTruth['split']>;
  stats: SmscStats[];
  takeoverMs: number;
  killed: string;
  killedShards: number;
}

describe('alerting failover in the whole system (two alerting processes, kill -9 one mid-alert)', () => {
  let sys: RunningSystem | undefined;
  let outcome: Outcome;

  beforeAll(async () => {
    const t0 = Date.now();
    sys = await startSystem({
      subscribers: SUBSCRIBERS,
      simSpeed: SIM_SPEED,
      alertingInstances: 2,
      services: ['smsc-sim', 'alerting', 'alerting-2', 'messaging'],
      env: {
        messaging: { ACK_WAIT_MS: '15000', UNCERTAIN_RESOLVE_MS: '30000' },
        ingest: { SIM_START: new Date(Date.now() - SIM_BEHIND_MS).toISOString() },
      },
      smscEnv: { SMSC_SUCCESS_RATE: '1', SMSC_MO_RATE: '0', SMSC_LATENCY_MS: '2', SMSC_RECEIPT_DELAY_MS: '100' },
      say,
    });
    say(`system up in ${Date.now() - t0} ms (${sys.dir})`);
    const s = sys;
    const nc = await connectNats(s.natsUrl, 'proof-failover');
    const kv = await new Kvm(nc).open(LEASES_BUCKET);
    const leases = async () => {
      const out = new Map<string, LeaseValue>();
      for await (const k of await kv.keys('lease.alerting.*')) {
        const e = await kv.get(k);
        if (e?.operation === 'PUT') out.set(k, e.json<LeaseValue>());
      }
      return [...out.values()].filter((v) => v.owner && v.expiresAt > Date.now());
    };
    await until(
      'both alerting instances hold shards',
      async () => {
        const l = await leases();
        return l.length === 8 && new Set(l.map((v) => v.owner)).size === 2;
      },
      60_000,
    );
    await submitAndRun(s.natsUrl, TASK_ID, {
      alertType: 'typhoon',
      region: { parts: [{ kind: 'rectangle', ...REGION }] },
      subject: 'failover: typhoon warning',
      content: '台风红色预警：请立即转移到安全地带，远离海边。',
      signature: '应急管理',
      ...taskDates(),
      frequency: 'daily',
      quota: {
        cmcc: { total: 100_000, dailyCap: 100_000 },
        cucc: { total: 100_000, dailyCap: 100_000 },
        ctcc: { total: 10_000, dailyCap: CTCC_DAILY_CAP },
      },
      balance: 210_000,
      accountId: 'failover-account',
      enterpriseId: 'failover-enterprise',
    });
    // Throttled, so that sending is still under way when the owner dies.
    await s.smsc.configure({ throttlePerSecond: 40 });
    const from = Date.now();
    await s.startService('ingest');
    await sleep(5_000);
    const before = await leases();
    const count = (id: string) => before.filter((v) => v.owner === id).length;
    const killed = count('alerting-2') >= count('alerting-1') ? 'alerting-2' : 'alerting-1';
    const survivor = killed === 'alerting-2' ? 'alerting-1' : 'alerting-2';
    const killedShards = count(killed);
    const killedService = killed === 'alerting-2' ? 'alerting-2' : 'alerting';
    await s.killService(killedService);
    const killedAt = Date.now();
    say(`kill -9 ${killed} (owner of ${killedShards} of 8 shards) at +${Math.round((killedAt - from) / 1000)} s`);
    let takeoverMs = 0;
    await until(
      `${survivor} owns every shard`,
      async () => {
        const l = await leases();
        const done = l.length === 8 && l.every((v) => v.owner === survivor);
        if (done) takeoverMs = Date.now() - killedAt;
        return done;
      },
      60_000,
    );
    say(`${survivor} owned every shard ${takeoverMs} ms after the kill`);
    // Then the killed instance comes back (same instance id) and takes its shards back from the
    // survivor mid-alert: the handover the other way, by rebalancing.
    await s.startService(killedService);
    await until('both instances hold shards again', async () => new Set((await leases()).map((v) => v.owner)).size === 2, 60_000);
    say(`${killed} is back and holds shards again (+${Math.round((Date.now() - killedAt) / 1000)} s after the kill)`);
    await nc.close();
    await s.smsc.configure({ throttlePerSecond: 0 });
    const catchUp = from + SIM_BEHIND_MS / (SIM_SPEED - 1) - 5000;
    if (Date.now() < catchUp) await sleep(catchUp - Date.now());
    await s.stopService('ingest');
    say(`simulator stopped after ${Math.round((Date.now() - from) / 1000)} s; waiting for the system to go quiet`);
    await waitQuiet(s.natsUrl, ['LOCATION', 'SMS_JOBS'], {
      stableMs: 8000,
      timeoutMs: 120_000,
      say,
      extra: async () => JSON.stringify((await s.smsc.stats()).map((x) => [x.accepted, x.receiptsPending])),
    });
    const truth = await GroundTruth.read(s.natsUrl);
    const split = truth.split(inside, passes);
    const candidates = [...new Set([...split.qualifying.keys(), ...split.excludedByRules, ...split.boundary])];
    const received = await s.smsc.countsFor(candidates);
    const stats = await s.smsc.stats();
    outcome = { truth, received, split, stats, takeoverMs, killed, killedShards };
    say(
      `ground truth: ${truth.events} events of ${truth.bySubscriber.size} people; qualifying ${split.qualifying.size}; SMSC accepted ${stats.map((x) => `${x.carrier} ${x.accepted}`).join(', ')}`,
    );
  }, 360_000);

  afterAll(async () => {
    for (const e of sys?.unexpectedExits() ?? [])
      say(`unexpected exit of ${e.service} (code ${e.code}, signal ${e.signal}):\n${e.logTail}`);
    await sys?.stop({ keep: process.env.PROOF_KEEP === '1' });
  }, 120_000);

  it(`the survivor owns every shard within ${TAKEOVER_GOAL_MS / 1000} s of the kill`, () => {
    expect(outcome.killedShards).toBeGreaterThanOrEqual(1);
    expect(outcome.takeoverMs).toBeGreaterThan(0);
    expect(outcome.takeoverMs).toBeLessThan(TAKEOVER_GOAL_MS);
  });

  it('sends nobody twice in a day', () => {
    const perDay = (msgs: ReceivedMessage[]) => {
      const days = new Map<string, number>();
      for (const m of msgs) days.set(shanghaiDay(m.at), (days.get(shanghaiDay(m.at)) ?? 0) + 1);
      return days;
    };
    const twice = [...outcome.received].filter(([, msgs]) => [...perDay(msgs).values()].some((n) => n > 1));
    expect(twice.map(([m, msgs]) => `${m}: ${msgs.length}`)).toEqual([]);
  });

  it('sends every qualifying person of the uncapped carriers (walk-ins during the gap included), the capped one up to its cap', () => {
    const missed: string[] = [];
    let ctccQualifying = 0,
      ctccSent = 0;
    for (const [msisdn, last] of outcome.split.qualifying) {
      const got = (outcome.received.get(msisdn) ?? []).length > 0;
      if (last.carrier === 'ctcc') {
        ctccQualifying++;
        if (got) ctccSent++;
      } else if (!got) missed.push(`${msisdn} (${last.carrier})`);
    }
    say(
      `qualifying ${outcome.split.qualifying.size}; ctcc ${ctccQualifying}, sent ${ctccSent} (cap ${CTCC_DAILY_CAP}); missed ${missed.length}`,
    );
    expect(outcome.split.qualifying.size).toBeGreaterThan(500);
    expect(missed.slice(0, 20)).toEqual([]);
    expect(ctccQualifying).toBeGreaterThan(CTCC_DAILY_CAP);
    expect(ctccSent).toBeLessThanOrEqual(CTCC_DAILY_CAP);
  });

  it('sends nobody outside the region', () => {
    const toCandidates = [...outcome.received.values()].reduce((n, msgs) => n + msgs.reduce((k, m) => k + m.parts, 0), 0);
    expect(outcome.stats.reduce((n, s) => n + s.accepted, 0)).toBe(toCandidates);
  });
});
