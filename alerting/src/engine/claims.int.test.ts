import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, describe, expect, it } from 'vitest';
import { CARRIERS, type Carrier } from '@geo/ingest';
import { smsJobSubject } from '@geo/messaging';
import { AlertTask, AlertTaskSpec } from '../contract.ts';
import { Presence } from '../presence/presence.ts';
import { CAPS_BUCKET } from '../streams.ts';
import { KvBudget } from './budget.ts';
import { SendClaims, claimChunk, claimSubject, type ClaimChunk } from './claims.ts';
import { Engine } from './engine.ts';
import type { JobBatch } from './job-batches.ts';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset } from '../testing/engine-kit.ts';
import { JsPublishError, JsPublisher, WRONG_LAST_SEQUENCE } from './js-publisher.ts';

const t = engineFixture('claims', { server: 'shared', engine: false });
const publishers: JsPublisher[] = [];
const publisher = () => {
  const p = new JsPublisher(t.nc, 15_000);
  publishers.push(p);
  return p;
};
const log = async () => new SendClaims(await jetstream(t.nc, { timeout: 15_000 }).jetstreamManager(), publisher());
const run = `c${Date.now().toString(36)}`;
let taskN = 0;
const taskId = () => `${run}-${taskN++}`;
const people = (ms: string[], carrier: Carrier = 'cmcc') => ms.map((msisdn) => ({ msisdn, carrier }));

afterAll(() => {
  for (const p of publishers) p.close();
});

describe('pipelined JetStream publishes', () => {
  it('reports the stream sequence, drops a repeated Msg-Id as a duplicate, and refuses a wrong expected last sequence', async () => {
    const pub = publisher();
    const subject = smsJobSubject('cmcc');
    const id = `${run}-dup`;
    const acks = await Promise.all([pub.publish(subject, '{}', { msgID: id }), pub.publish(subject, '{}', { msgID: id })]);
    expect(acks[0].seq).toBeGreaterThan(0);
    expect(acks[1]).toMatchObject({ duplicate: true, seq: acks[0].seq });
    const claim = claimSubject(taskId(), undefined, 0);
    await pub.publish(claim, '{}', { expectLastSubjectSequence: 0 });
    const err = await pub.publish(claim, '{}', { expectLastSubjectSequence: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsPublishError);
    expect((err as JsPublishError).code).toBe(WRONG_LAST_SEQUENCE);
  });

  it('fails a publish no stream takes with a clear error instead of waiting for the timeout', async () => {
    await expect(publisher().publish(`nostream.${run}`, '{}')).rejects.toThrow(/no stream answered/);
  });
});

describe('the claim log', () => {
  it('lets exactly one of two writers with the same knowledge win a position; the loser gets the winner’s chunk', async () => {
    const [a, b] = [await log(), await log()];
    const subject = claimSubject(taskId(), undefined, 3);
    const [ra, rb] = await Promise.all([
      a.append(subject, claimChunk('a1', 'a', Date.now(), people(['15000000001', '15000000002']))),
      b.append(subject, claimChunk('b1', 'b', Date.now(), people(['15000000002', '15000000003']))),
    ]);
    expect([ra.ok, rb.ok].filter(Boolean)).toHaveLength(1);
    const [winner, loser] = ra.ok ? [ra, rb] : [rb, ra];
    expect(winner.others).toEqual([]);
    expect(loser.others.map((c) => c.id)).toEqual([ra.ok ? 'a1' : 'b1']);
    // Having folded what it missed, the loser's next append succeeds at once.
    const again = await (ra.ok ? b : a).append(subject, claimChunk('x2', 'x', Date.now(), people(['15000000004'])));
    expect(again).toEqual({ ok: true, others: [] });
  });

  it('recognises its own chunk stored before an ack was lost, and lists every chunk of a task in order', async () => {
    const id = taskId();
    const subject = claimSubject(id, '20261125', 1);
    const first = claimChunk('mine-1', 'i', 1, people(['15000000011'], 'cucc'));
    expect((await (await log()).append(subject, first)).ok).toBe(true);
    // A fresh log knows nothing (as after an unanswered publish): the retry finds its own chunk.
    expect(await (await log()).append(subject, first)).toEqual({ ok: true, others: [] });
    await (
      await log()
    ).append(claimSubject(id, '20261125', 5), claimChunk('mine-2', 'i', 2, people(['15000000012', '15000000013'], 'ctcc')));
    await (await log()).append(claimSubject(id, '20261126', 1), claimChunk('next-day', 'i', 3, people(['15000000011'])));
    const listed: ClaimChunk[] = [];
    const l = await log();
    for await (const { chunk } of l.list(id, '20261125')) listed.push(chunk);
    expect(listed.map((c) => c.id)).toEqual(['mine-1', 'mine-2']);
    expect(listed[1]).toMatchObject({ msisdns: ['15000000012', '15000000013'], carriers: '22' });
    // Listing does not move the append position: the next append still learns what was listed on its subject, then succeeds.
    expect(await l.append(subject, claimChunk('after', 'i', 4, people(['15000000014'])))).toEqual({ ok: false, others: [first] });
    expect(await l.append(subject, claimChunk('after', 'i', 4, people(['15000000014'])))).toEqual({ ok: true, others: [] });
  });
});

/** An engine on the shared NATS with its own presence, fed the same people. */
async function engineOn(
  instance: string,
  publish?: (batch: JobBatch, pub: JsPublisher) => Promise<unknown>,
  claimChunk?: number,
  appendsWaitFor?: Promise<unknown>,
) {
  const js = jetstream(t.nc, { timeout: 15_000 });
  const pub = publisher();
  const caps = await new Kvm(js).open(CAPS_BUCKET);
  const claims = new SendClaims(await js.jetstreamManager(), pub);
  const engine = new Engine(
    {
      budget: new KvBudget(caps),
      // `appendsWaitFor` holds every claim append back (to put a restore between choosing people and claiming them).
      claims: appendsWaitFor
        ? { append: async (s, c) => (await appendsWaitFor, claims.append(s, c)), list: (id, day) => claims.list(id, day) }
        : claims,
      publish: (b) => (publish ? publish(b, pub) : pub.publish(smsJobSubject(b.carrier), b.data, { msgID: b.msgId })),
      jobBatch: 50,
      now: Date.now,
      instance,
      claimChunk,
    },
    new Presence(),
  );
  return engine;
}

function runningTask(id: string, centre: [number, number]): AlertTask {
  const spec = AlertTaskSpec.parse(
    circleTask(centre, 2_000, {
      quota: {
        cmcc: { total: 10_000, dailyCap: 10_000 },
        cucc: { total: 10_000, dailyCap: 10_000 },
        ctcc: { total: 10_000, dailyCap: 10_000 },
      },
      balance: 30_000,
    }),
  );
  return AlertTask.parse({ id, version: 1, spec, state: 'running', startedAt: Date.now(), updatedAt: Date.now() });
}

describe('engines claiming the same people', () => {
  it('sends each person exactly once when two engines that both see everyone start the task at the same moment', async () => {
    const centre: [number, number] = [70, 35];
    const everyone = numbers(3_000);
    const evs = everyone.map((m, i) => event(m, CARRIERS[i % 3], offset(centre, (i % 50) * 10, Math.floor(i / 50) * 10)));
    const [a, b] = [await engineOn('twin-a'), await engineOn('twin-b')];
    const id = taskId();
    const task = runningTask(id, centre);
    for (const e of [a, b]) {
      e.applyEvents(evs, false);
      e.upsertTask(task);
    }
    await Promise.all([a.activate(id), b.activate(id)]);
    const jobs = await jobsOf(t.nc, id);
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...everyone].sort());
    // Whatever either sent, the other now knows: activating again sends nobody.
    await Promise.all([a.activate(id), b.activate(id)]);
    expect((await jobsOf(t.nc, id)).length).toBe(everyone.length);
    // A third that never read the log and also sees newcomers, claiming in chunks of 7: its first
    // append per part loses and teaches it who was claimed, in this chunk and in those still to
    // come; it sends exactly the newcomers (and publishes the recent jobs of the others again,
    // which the stream drops by Msg-Id).
    const newcomers = numbers(100);
    const c = await engineOn('twin-c', undefined, 7);
    c.applyEvents([...evs, ...newcomers.map((m) => event(m, 'cucc', offset(centre, 5, 5)))], false);
    c.upsertTask(task);
    await c.activate(id);
    expect(c.published).toBe(newcomers.length);
    const again = await jobsOf(t.nc, id);
    expect(again.map((j) => j.msisdn).sort()).toEqual([...everyone, ...newcomers].sort());
  });

  it('counts each send once when a task’s claims are restored while the same people are being claimed (two engines at once)', async () => {
    // A second engine joining a running task restores its claims (activation) while its housekeeping
    // already claims the members it replayed: the restore read the other engine's chunks first, and
    // the claim must still learn them, not claim those people again (a double claim was hidden from
    // the jobs by their Msg-Id, but counted twice in the summed progress: 58 sent for 55 people).
    const centre: [number, number] = [74, 35];
    const everyone = numbers(600);
    const evs = everyone.map((m, i) => event(m, CARRIERS[i % 3], offset(centre, (i % 30) * 10, Math.floor(i / 30) * 10)));
    const id = taskId();
    const task = runningTask(id, centre);
    const a = await engineOn('join-a');
    a.applyEvents(evs, false);
    a.upsertTask(task);
    await a.activate(id);
    expect(a.published).toBe(everyone.length);
    let restored!: () => void;
    const gate = new Promise<void>((r) => (restored = r));
    const b = await engineOn('join-b', undefined, undefined, gate);
    b.applyEvents(evs, false);
    b.upsertTask(task);
    const claiming = b.activate(id); // people chosen now; their claim appends wait for the gate
    await new Promise((r) => setTimeout(r, 200));
    const r = await b.restoreClaims(id);
    expect(r.claims).toBe(everyone.length);
    restored();
    await claiming;
    expect(b.published).toBe(0);
    const sent = (e: Engine) => e.progress().reduce((n, p) => n + p.sent.cmcc + p.sent.cucc + p.sent.ctcc, 0);
    expect(sent(a) + sent(b)).toBe(everyone.length);
    const jobs = await jobsOf(t.nc, id);
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...everyone].sort());
  });

  it('publishes after a restart the jobs of people claimed by a process that died before publishing them, once', async () => {
    const centre: [number, number] = [72, 35];
    const everyone = numbers(2_000);
    const evs = everyone.map((m, i) => event(m, CARRIERS[i % 3], offset(centre, (i % 40) * 10, Math.floor(i / 40) * 10)));
    const id = taskId();
    const task = runningTask(id, centre);
    // The first process claims everyone, publishes every other message of jobs, and dies before the rest.
    let n = 0,
      jobsOut = 0,
      jobsHeld = 0;
    const dying = await engineOn('dying', (b, pub) => {
      if (n++ % 2 === 1) return ((jobsHeld += b.msisdns.length), new Promise(() => undefined));
      jobsOut += b.msisdns.length;
      return pub.publish(smsJobSubject(b.carrier), b.data, { msgID: b.msgId });
    });
    dying.applyEvents(evs, false);
    dying.upsertTask(task);
    void dying.activate(id);
    while (jobsOut + jobsHeld < everyone.length) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    expect(jobsHeld).toBeGreaterThan(0);
    expect((await jobsOf(t.nc, id)).length).toBe(jobsOut);
    // Its successor restores the claims, publishes them again (the stream drops the half already
    // there by Msg-Id), and its own activation finds nobody left to claim.
    const successor = await engineOn('successor');
    successor.applyEvents(evs, false);
    successor.upsertTask(task);
    const r = await successor.restoreClaims(id);
    expect(r).toEqual({ claims: everyone.length, republished: everyone.length });
    await successor.activate(id);
    const jobs = await jobsOf(t.nc, id);
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...everyone].sort());
  });
});

describe('fencing a paused shard owner (lease mode)', () => {
  it('claims nobody for a shard whose lease lapsed while its send was under way: people who left meanwhile get no SMS, the new owner sends the others once', async () => {
    // The old owner chose its people while it held the lease, then stalled (a GC pause, SIGSTOP, a
    // slow KV) before claiming them; meanwhile the lease lapsed, a new owner took the shard over and
    // saw half of them leave. The claim log keeps anyone from being sent twice, but only a re-check
    // of the lease keeps the old owner from claiming, on stale presence, the people who left.
    const centre: [number, number] = [68, 35];
    const everyone = numbers(300);
    const evs = everyone.map((m, i) => event(m, CARRIERS[i % 3], offset(centre, (i % 20) * 10, Math.floor(i / 20) * 10)));
    const id = taskId();
    const task = runningTask(id, centre);
    const js = jetstream(t.nc, { timeout: 15_000 });
    const caps = await new Kvm(js).open(CAPS_BUCKET);
    const budget = new KvBudget(caps);
    const pub = publisher();
    let held = true;
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    let reserving!: () => void;
    const reserved = new Promise<void>((r) => (reserving = r));
    const old = new Engine(
      {
        budget: {
          reserve: async (s, n) => {
            const g = await budget.reserve(s, n);
            reserving();
            await paused;
            return g;
          },
          release: (s, n) => budget.release(s, n),
          peek: (s) => budget.peek(s),
        },
        claims: new SendClaims(await js.jetstreamManager(), pub),
        publish: (b) => pub.publish(smsJobSubject(b.carrier), b.data, { msgID: b.msgId }),
        now: Date.now,
        instance: 'paused-owner',
        owns: () => held,
        fence: (): Record<string, number> => (held ? { 0: 1 } : {}),
      },
      new Presence(),
    );
    old.applyEvents(evs, false);
    old.upsertTask(task);
    const sending = old.activate(id).catch(() => 0);
    await reserved;
    held = false; // the lease lapsed during the pause
    const [stayers, leavers] = [everyone.filter((_, k) => k % 2 === 0), everyone.filter((_, k) => k % 2 === 1)];
    const successor = await engineOn('new-owner');
    successor.applyEvents(evs, false);
    successor.applyEvents(
      leavers.map((m) => event(m, CARRIERS[everyone.indexOf(m) % 3], offset(centre, 20_000, 0))),
      false,
    );
    successor.upsertTask(task);
    await successor.restoreClaims(id);
    await successor.activate(id);
    resume();
    await sending;
    expect(old.published).toBe(0);
    const writers = new Set<string>();
    for await (const { chunk } of (await log()).list(id)) writers.add(chunk.instance);
    expect([...writers]).toEqual(['new-owner']);
    const jobs = await jobsOf(t.nc, id);
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...stayers].sort());
    // The old owner's reservations were given back: the counters hold who was sent, once.
    const used = await budget.usedTotals(id, CARRIERS);
    expect((used.cmcc ?? 0) + (used.cucc ?? 0) + (used.ctcc ?? 0)).toBe(stayers.length);
  });
});
