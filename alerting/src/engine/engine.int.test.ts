import { describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { DEAD_LETTER_STREAM, DeadLetter, ensureDeadLetterStream } from '@geo/infra';
import { CARRIERS, encodeLocationBatch, locationSubject, shardOf } from '@geo/ingest';
import { REACH_SUBJECT, TaskProgress, progressSubject, type ReachReply } from '../contract.ts';
import { CAPS_BUCKET, TASKS_BUCKET } from '../streams.ts';
import { TaskError } from '../tasks/task-store.ts';
import { KvBudget } from './budget.ts';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, today, tomorrow, until } from '../testing/engine-kit.ts';

const t = engineFixture('int', { server: 'shared', engine: false });

// Regions far from anything the other workspaces' tests publish (they simulate Zhejiang).
let site = 0;
const nextSite = (): [number, number] => [80 + site++ * 0.5, 40];

describe('alerting engine on real NATS', () => {
  it('sends once to everyone present at start and to people entering later; nobody outside the region or rules, nobody twice', async () => {
    const centre = nextSite();
    const eng = await t.startEngine('a1');
    const insiders = numbers(40),
      outsiders = numbers(20),
      elderly = numbers(10),
      later = numbers(15);
    const carrierOf = (i: number) => CARRIERS[i % 3];
    await publishEvents(t.nc, [
      ...insiders.map((m, i) => event(m, carrierOf(i), offset(centre, (i % 7) * 100, (i % 5) * 100), { age: 30 })),
      ...outsiders.map((m, i) => event(m, carrierOf(i), offset(centre, 1_200 + i * 10, 0), { age: 30 })),
      ...elderly.map((m, i) => event(m, carrierOf(i), offset(centre, 10, 10), { age: 70 })),
      ...later.map((m, i) => event(m, carrierOf(i), offset(centre, 5_000, i * 10), { age: 30 })),
    ]);
    await sleep(500);
    const progress: TaskProgress[] = [];
    const sub = t.nc.subscribe(progressSubject('t-basic'), { callback: (_e, m) => void progress.push(TaskProgress.parse(m.json())) });
    await eng.store.submit('t-basic', circleTask(centre, 1_000, { rules: [{ attribute: 'age', action: 'exclude', min: 65, max: 120 }] }));
    await until('present insiders sent', async () => (await jobsOf(t.nc, 't-basic')).length >= insiders.length);
    // Everyone moves: insiders stay inside (new cells), `later` walk in, outsiders stay out; events repeat.
    for (let round = 0; round < 2; round++)
      await publishEvents(t.nc, [
        ...insiders.map((m, i) => event(m, carrierOf(i), offset(centre, -(i % 9) * 50, 20), { age: 30 })),
        ...later.map((m, i) => event(m, carrierOf(i), offset(centre, 0, -i * 30), { age: 30 })),
        ...outsiders.map((m, i) => event(m, carrierOf(i), offset(centre, 0, 1_100 + i * 10), { age: 30 })),
        ...elderly.map((m, i) => event(m, carrierOf(i), offset(centre, -10, 0), { age: 70 })),
      ]);
    await until('people entering later sent', async () => (await jobsOf(t.nc, 't-basic')).length >= insiders.length + later.length);
    await sleep(1_000);
    const jobs = await jobsOf(t.nc, 't-basic');
    const sentTo = jobs.map((j) => j.msisdn).sort();
    expect(sentTo).toEqual([...insiders, ...later].sort());
    expect(new Set(jobs.map((j) => j.jobId)).size).toBe(jobs.length);
    expect(jobs[0]).toMatchObject({ source: 'alert', sendId: 't-basic', content: '暴雨预警：请注意安全', signature: '应急管理局' });
    const carrierByNumber = new Map([
      ...insiders.map((m, i) => [m, carrierOf(i)] as const),
      ...later.map((m, i) => [m, carrierOf(i)] as const),
    ]);
    for (const j of jobs) expect(j.carrier).toBe(carrierByNumber.get(j.msisdn));
    // Progress is per instance (another test file's engine may share the durable consumers and
    // handle some of these people): the reader sums the latest report of each instance.
    const summed = () => {
      const latest = new Map<string, TaskProgress>();
      for (const p of progress) latest.set(p.instance, p);
      let sent = 0,
        rule = 0;
      for (const p of latest.values()) {
        sent += p.sent.cmcc + p.sent.cucc + p.sent.ctcc;
        rule += p.skipped.rule ?? 0;
      }
      return { sent, rule };
    };
    await until('progress published', () => summed().rule >= elderly.length && summed().sent >= insiders.length + later.length);
    // Sends are claimed by one instance each, so their sum is exact; a skip is counted by every
    // instance that saw the person (at least once in all).
    expect(summed().sent).toBe(insiders.length + later.length);
    expect(summed().rule).toBeGreaterThanOrEqual(elderly.length);
    sub.unsubscribe();
    expect((await eng.store.get('t-basic'))!.task.state).toBe('running');
    await t.stopEngines();
  });

  it('sends nobody while the send window is closed or before the start date, and counts them under "window"', async () => {
    const centre = nextSite();
    const eng = await t.startEngine('a2');
    const people = numbers(12);
    await publishEvents(
      t.nc,
      people.map((m) => event(m, 'cmcc', centre)),
    );
    await sleep(300);
    // A one-minute window two hours from now (Shanghai), never the current minute.
    const h = (new Date(Date.now() + 8 * 3600_000).getUTCHours() + 2) % 24;
    const hh = String(h).padStart(2, '0');
    await eng.store.submit('t-window', circleTask(centre, 300, { windows: [{ start: `${hh}:00`, end: `${hh}:01` }] }));
    await eng.store.submit('t-future', circleTask(centre, 300, { startDate: tomorrow(), endDate: tomorrow() }));
    const progress: TaskProgress[] = [];
    const sub = t.nc.subscribe(progressSubject('t-window'), { callback: (_e, m) => void progress.push(TaskProgress.parse(m.json())) });
    await until('window skips counted', () => progress.some((p) => p.skipped.window === people.length));
    await publishEvents(
      t.nc,
      people.map((m) => event(m, 'cmcc', offset(centre, 5, 5))),
    );
    await sleep(1_500);
    expect(await jobsOf(t.nc, 't-window')).toEqual([]);
    expect(await jobsOf(t.nc, 't-future')).toEqual([]);
    expect((await eng.store.get('t-future'))!.task.state).toBe('scheduled');
    sub.unsubscribe();
    await t.stopEngines();
  });

  it("never exceeds daily caps or totals with two instances at once (the account balance is the portal ledger's, taken at submit)", async () => {
    const centre = nextSite();
    const [a, b] = [await t.startEngine('cap-a'), await t.startEngine('cap-b')];
    const people = numbers(600);
    await eventsInSmallBatches(people.map((m, i) => event(m, CARRIERS[i % 2], offset(centre, (i % 20) * 10, Math.floor(i / 20) * 10))));
    await sleep(500);
    // Two tasks of one account: caps per task and carrier. The spec's balance is not enforced here
    // any more (one ledger, #18: the portal took the totals from the account at submit).
    const spec = (over: object) => circleTask(centre, 800, { accountId: 'acc-shared', balance: 250, ...over });
    await a.store.submit('t-cap1', spec({ quota: { cmcc: { total: 100, dailyCap: 40 }, cucc: { total: 150, dailyCap: 150 } } }));
    await b.store.submit('t-cap2', spec({ quota: { cmcc: { total: 200, dailyCap: 200 } } }));
    // People keep producing events on both instances.
    for (let r = 0; r < 3; r++)
      await eventsInSmallBatches(
        people.map((m, i) => event(m, CARRIERS[i % 2], offset(centre, (i % 20) * 10 + r, Math.floor(i / 20) * 10))),
      );
    await until('budgets exhausted', async () => {
      const [j1, j2] = [await jobsOf(t.nc, 't-cap1'), await jobsOf(t.nc, 't-cap2')];
      return j1.length + j2.length >= 390;
    });
    await sleep(2_000);
    const j1 = await jobsOf(t.nc, 't-cap1'),
      j2 = await jobsOf(t.nc, 't-cap2');
    expect(j1.filter((j) => j.carrier === 'cmcc').length).toBeLessThanOrEqual(40);
    expect(j1.filter((j) => j.carrier === 'cucc').length).toBeLessThanOrEqual(150);
    expect(j2.filter((j) => j.carrier === 'cucc').length).toBe(0);
    expect(j1.length + j2.length).toBe(40 + 150 + 200);
    expect(new Set(j1.map((j) => j.msisdn)).size).toBe(j1.length);
    expect(new Set(j2.map((j) => j.msisdn)).size).toBe(j2.length);
    const caps = await new Kvm(t.nc).open(CAPS_BUCKET);
    expect(await caps.get('balance.acc-shared')).toBeNull();
    const budget = new KvBudget(caps);
    const day = today().replace(/-/g, '');
    const used = await budget.peek({
      taskId: 't-cap1',
      accountId: 'acc-shared',
      carrier: 'cmcc',
      day,
      quota: { total: 100, dailyCap: 40 },
      initialBalance: 0,
    });
    expect(used.dailyUsed).toBe(j1.filter((j) => j.carrier === 'cmcc').length);
    await t.stopEngines();
  });

  it('refuses an invalid region at submit with a clear reason, and rejects a bad record written around the check', async () => {
    const eng = await t.startEngine('a4');
    await expect(eng.store.submit('t-bad', circleTask([80, 40], 0))).rejects.toThrow(/radius must be greater than 0 m/);
    await expect(eng.store.submit('t-bad', circleTask([80, 40], 0))).rejects.toBeInstanceOf(TaskError);
    const kv = await new Kvm(t.nc).open(TASKS_BUCKET);
    const good = await eng.store.submit('t-raw', circleTask([80, 40], 100, { startDate: tomorrow(), endDate: tomorrow() }));
    await kv.put(
      't-raw',
      JSON.stringify({
        ...good,
        version: 2,
        spec: {
          ...good.spec,
          region: {
            parts: [
              {
                kind: 'polygon',
                rings: [
                  [
                    [0, 0],
                    [1, 1],
                    [1, 0],
                    [0, 1],
                  ],
                ],
              },
            ],
            edgeBufferM: 0,
          },
        },
      }),
    );
    await until(
      'rejected',
      async () =>
        (await eng.store.get('t-raw').catch(() => undefined)) === undefined &&
        JSON.parse((await kv.get('t-raw'))!.string()).state === 'rejected',
    );
    expect(JSON.parse((await kv.get('t-raw'))!.string()).reason).toMatch(/edges cross/);
    await t.stopEngines();
  });

  it('stops sending at an emergency stop, refuses pausing a running task, and answers reach estimates', async () => {
    const centre = nextSite();
    const eng = await t.startEngine('a5');
    const first = numbers(10),
      after = numbers(10);
    await publishEvents(
      t.nc,
      first.map((m, i) => event(m, CARRIERS[i % 3], offset(centre, i * 5, 0), { gender: i % 2 ? 'm' : 'f' })),
    );
    await sleep(300);
    // Every instance answers for its own subscribers (another test file's engine may hold some of
    // these people through the shared durable consumers): the reader sums the answers.
    const replies: ReachReply[] = [];
    for await (const m of await t.nc.requestMany(
      REACH_SUBJECT,
      JSON.stringify({
        v: 1,
        region: { parts: [{ kind: 'circle', center: centre, radiusM: 500 }] },
        rules: [{ attribute: 'gender', action: 'keep', values: ['f'] }],
        quota: { cmcc: { total: 2, dailyCap: 2 }, cucc: { total: 9, dailyCap: 9 } },
      }),
      { maxWait: 2000, strategy: 'timer' },
    ))
      replies.push(m.json<ReachReply>());
    const sum = (k: 'present' | 'passing') => ({
      cmcc: replies.reduce((n, r) => n + r[k].cmcc, 0),
      cucc: replies.reduce((n, r) => n + r[k].cucc, 0),
      ctcc: replies.reduce((n, r) => n + r[k].ctcc, 0),
    });
    expect(sum('present')).toEqual({ cmcc: 4, cucc: 3, ctcc: 3 });
    expect(sum('passing').cmcc + sum('passing').cucc + sum('passing').ctcc).toBe(5);
    for (const r of replies) {
      expect(r.allowedToday.cmcc).toBe(Math.min(2, r.passing.cmcc));
      expect(r.allowedToday.ctcc).toBe(0);
    }
    await eng.store.submit('t-stop', circleTask(centre, 500));
    await until('first sent', async () => (await jobsOf(t.nc, 't-stop')).length === first.length);
    await expect(eng.store.transition('t-stop', 'paused')).rejects.toThrow(/cannot be paused; stop it instead/);
    await eng.store.transition('t-stop', 'stopped', 'operator emergency stop');
    await sleep(800);
    await publishEvents(
      t.nc,
      after.map((m) => event(m, 'cmcc', centre)),
    );
    await sleep(1_500);
    expect((await jobsOf(t.nc, 't-stop')).length).toBe(first.length);
    await t.stopEngines();
  });

  it('dead-letters a corrupt binary batch and a JSON batch with a bad event, each with its reason, and goes on consuming', async () => {
    const since = new Date(Date.now() - 1000);
    await ensureDeadLetterStream(t.nc);
    const eng = await t.startEngine('bad-input');
    const mark = `bad-${Math.random().toString(36).slice(2, 10)}`;
    const [m1, m2] = numbers(2);
    const js = jetstream(t.nc, { timeout: 15_000 });
    // A binary batch whose carrier column says 9 (the byte after the home column).
    const corrupt = encodeLocationBatch([event(m1, 'cmcc', [81, 41], { cell: `${mark}-bin` })]);
    corrupt[24 + 8 + 8 + 8 + 8 + 4 + 4] = 9;
    await js.publish(locationSubject('cmcc', shardOf(m1)), corrupt);
    await js.publish(
      locationSubject('cucc', shardOf(m2)),
      JSON.stringify({ v: 1, events: [{ ...event(m2, 'cucc', [81, 41], { cell: `${mark}-json` }), ts: 'yesterday' }] }),
    );

    let dead: DeadLetter[] = [];
    await until('both dead-lettered', async () => (dead = await deadLettersWith(mark, since)).length >= 2, 60_000);
    const reasons = dead.map((d) => d.reason).sort();
    expect(reasons[0]).toMatch(/^not a LOCATION binary batch: event 0: carrier 9/);
    expect(reasons[1]).toMatch(/^not a LocationBatch: event 0: ts/);

    // Still consuming: good batches (binary) reach presence. Other test files' engines share the
    // durable consumers, so keep publishing fresh people until this engine has seen one.
    const seen = async () => {
      const fresh = numbers(20);
      await Promise.all(
        fresh.map((m) => js.publish(locationSubject('ctcc', shardOf(m)), encodeLocationBatch([event(m, 'ctcc', [81, 41])]))),
      );
      await sleep(300);
      return fresh.some((m) => eng.engine.presence.indexOf(m) >= 0);
    };
    await until('a good batch applied after the bad ones', seen, 60_000);
    await t.stopEngines();
  });
});

/** Dead letters of alerting whose original payload contains `mark`. */
async function deadLettersWith(mark: string, since: Date): Promise<DeadLetter[]> {
  const js = jetstream(t.nc, { timeout: 15_000 });
  const info = await (await js.jetstreamManager()).streams.info(DEAD_LETTER_STREAM);
  if (info.state.messages === 0) return [];
  const c = await js.consumers.get(DEAD_LETTER_STREAM, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() });
  const out: DeadLetter[] = [];
  for (;;) {
    const batch = await c.fetch({ max_messages: 500, expires: 1000 });
    let n = 0;
    for await (const m of batch) {
      n++;
      const d = DeadLetter.parse(m.json());
      if (d.service === 'alerting' && Buffer.from(d.data, 'base64').includes(mark)) out.push(d);
    }
    if (n === 0) return out;
  }
}

async function eventsInSmallBatches(events: ReturnType<typeof event>[]) {
  await publishEvents(t.nc, events, 10);
}
