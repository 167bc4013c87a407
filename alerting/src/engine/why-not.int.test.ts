import { describe, expect, it } from 'vitest';
import { WHY_SUBJECT, WhyReply, type WhyRequest } from '../contract.ts';
import { engineFixture, requestAll } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

/**
 * "Why did number N not get task T" over NATS (request/reply like reach): each instance answers
 * from what it knows of the number and the task. Its own nats-server, so that this file's engine
 * sees every event it publishes.
 */
const t = engineFixture('why');

function why(taskId: string, msisdn: string): Promise<WhyReply[]> {
  const req: WhyRequest = { v: 1, taskId, msisdn };
  return requestAll(t.nc, WHY_SUBJECT, req, (m) => WhyReply.parse(m));
}

describe('why a number did not get a task', () => {
  it('names the reason: sent (when), rule, outside, not yet seen, dwell, window, daily cap, no quota', async () => {
    const centre: [number, number] = [95, 41];
    const [woman, man, outsider, unseen, capped1, capped2, capped3] = numbers(7);
    await publishEvents(t.nc, [
      event(woman, 'cmcc', centre, { gender: 'f' }),
      event(man, 'cmcc', offset(centre, 10, 0), { gender: 'm' }),
      event(outsider, 'cmcc', offset(centre, 5_000, 0), { gender: 'f' }),
      ...[capped1, capped2, capped3].map((m, k) => event(m, 'cucc', offset(centre, 0, 10 * k), { gender: 'f' })),
    ]);
    await until('seen', () => t.seen(woman, man, outsider, capped3));
    const h = (new Date(Date.now() + 8 * 3600_000).getUTCHours() + 2) % 24;
    const hh = String(h).padStart(2, '0');
    const quotas = { cmcc: { total: 100, dailyCap: 100 }, cucc: { total: 100, dailyCap: 1 } };
    await t.engine.store.submit(
      'why-rules',
      circleTask(centre, 1_000, { quota: quotas, rules: [{ attribute: 'gender', action: 'keep', values: ['f'] }] }),
    );
    await t.engine.store.submit('why-dwell', circleTask(centre, 1_000, { minDwellMin: 60 }));
    await t.engine.store.submit('why-window', circleTask(centre, 1_000, { windows: [{ start: `${hh}:00`, end: `${hh}:01` }] }));
    await t.engine.store.submit('why-quota', circleTask(centre, 1_000, { quota: { cucc: { total: 10, dailyCap: 10 } } }));
    await until('sent', async () => (await jobsOf(t.nc, 'why-rules')).length >= 2);
    await sleep(500);
    const reason = async (task: string, m: string) => {
      const replies = await why(task, m);
      expect(replies).toHaveLength(1);
      return replies[0]!;
    };
    const sent = await reason('why-rules', woman);
    expect(sent).toMatchObject({ tracked: true, seen: true, reason: 'sent' });
    expect(sent.sentAt).toBeGreaterThan(Date.now() - 60_000);
    expect((await reason('why-rules', man)).reason).toBe('rule');
    expect((await reason('why-rules', outsider)).reason).toBe('outside');
    expect(await reason('why-rules', unseen)).toMatchObject({ tracked: true, seen: false, reason: 'not_seen' });
    const caps = await Promise.all([capped1, capped2, capped3].map((m) => reason('why-rules', m)));
    expect(caps.map((c) => c.reason).sort()).toEqual(['daily_cap', 'daily_cap', 'sent']);
    expect((await reason('why-dwell', woman)).reason).toBe('dwell');
    expect((await reason('why-window', woman)).reason).toBe('window');
    expect((await reason('why-quota', woman)).reason).toBe('no_quota');
    expect(await reason('no-such-task', woman)).toMatchObject({ tracked: false, reason: 'not_tracked' });
  });
});
