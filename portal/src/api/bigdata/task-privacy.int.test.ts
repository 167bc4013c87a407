import { describe, expect, it } from 'vitest';
import { type LocationEvent } from '@geo/ingest';
import { until } from '@geo/infra/testing';
import { consoleFixture, locationEvent, publishLocations } from '../../test/console-fixture.ts';
import { consoleApp, onApp } from './console-harness.ts';
import { INSIGHT_ROUTES } from '../insight/index.ts';

/**
 * A running task's figures as a hostile enterprise reads them, against a real alerting engine (its
 * own nats-server). The enterprise's own sends (who it messaged, when, how many: its business record,
 * charged and on the recipients' phones) are exact; nothing about people it did not message is.
 *
 * 查询未收到原因 (`GET /api/bigdata/tasks/{id}/why?msisdn=`) as a hostile enterprise uses it
 * (#17, invariant 7): a task of its own is an oracle over any number it knows. The answer for
 * someone not messaged told apart "not in the region" (outside), "in the region but excluded by a
 * rule" (rule: inside, and a man), "in the region, not there long enough" (dwell: inside), "phone
 * off" (absent) and "never seen". A task that can never send (a 7-day dwell) costs nothing and
 * tells, for one person, whether they are inside a region drawn around one cell now. The attack
 * below asks about one person inside, one outside, one switched off and one never seen; it must
 * not be able to tell them apart. What the enterprise did itself stays: the people it messaged
 * answer `sent` with the time (its own send record, charged and on the recipient's phone).
 */
const fx = consoleFixture('why-privacy', { nats: 'own', engine: true });
const spot: [number, number] = [120.41, 29.41];
const spot2: [number, number] = [120.45, 29.45];
const far: [number, number] = [120.6, 29.6];
let n = 0;
const m = () => `139${String(72_000_000 + n++).padStart(8, '0')}`;
const ev = locationEvent;
const publish = (events: LocationEvent[]) => publishLocations(fx.nc, events);

const today = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const task = (over: Record<string, unknown>) => ({
  alertType: 'rainstorm',
  region: { parts: [{ kind: 'circle', center: spot, radiusM: 500 }] },
  subject: '隐私测试',
  content: '测试内容',
  signature: '翼讯通',
  startDate: today(),
  endDate: today(),
  windows: [],
  frequency: 'once',
  minDwellMin: 0,
  rules: [],
  quota: { cmcc: { total: 1000, dailyCap: 1000 } },
  authorizationLetter: fx.letter,
  ...over,
});

describe('why a number did not get a task: no location oracle (#17)', () => {
  it('answers a person inside the region, one outside, one switched off and one never seen alike; the people messaged still answer sent', async () => {
    const woman = m(),
      inside = m(),
      outside = m(),
      off = m(),
      unseen = m();
    await publish([
      ev(woman, 'why-w', spot, { gender: 'f' }),
      ev(inside, 'why-target', spot, { gender: 'm', age: 41 }),
      ev(outside, 'why-far', far, { gender: 'm', age: 41 }),
      ev(off, 'why-target', spot, { gender: 'm', kind: 'detach' }),
    ]);
    await until('people seen', () => [woman, inside, outside, off].every((x) => fx.engine.engine.presence.indexOf(x) >= 0));

    // A task that messages women only, and one that can never send (7 days' dwell): free to run.
    const byRule = await fx.admin('POST', '/api/bigdata/tasks', {
      form: task({ rules: [{ attribute: 'gender', action: 'keep', values: ['f'] }] }),
    });
    expect(byRule.status, JSON.stringify(byRule.body)).toBe(200);
    const byDwell = await fx.admin('POST', '/api/bigdata/tasks', { form: task({ minDwellMin: 7 * 24 * 60 }) });
    expect(byDwell.status, JSON.stringify(byDwell.body)).toBe(200);
    await until('woman sent', () => fx.engine.engine.sentCount(byRule.body.id) === 1);

    const why = async (id: string, msisdn: string) => {
      const r = await fx.admin('GET', `/api/bigdata/tasks/${id}/why?msisdn=${msisdn}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body as { msisdn: string; reason: string; reasonLabel: string; sentAt: string | null };
    };
    // The enterprise's own send: who it messaged and when.
    const sent = await why(byRule.body.id, woman);
    expect(sent.reason).toBe('sent');
    expect(Date.parse(sent.sentAt!)).toBeGreaterThan(Date.now() - 300_000);

    for (const id of [byRule.body.id, byDwell.body.id]) {
      const answers = await Promise.all([inside, outside, off, unseen].map((x) => why(id, x)));
      const told = answers.map((a) => ({ reason: a.reason, reasonLabel: a.reasonLabel, sentAt: a.sentAt }));
      // The attacker's question — is the target inside? — has one answer for all four people.
      expect(new Set(told.map((t) => JSON.stringify(t))).size, JSON.stringify(told)).toBe(1);
      expect(told[0]!.sentAt).toBeNull();
      expect(told[0]!.reason).toBe('not_sent');
      // Nothing about a place, a profile or a signal in the words either.
      expect(told[0]!.reasonLabel).not.toMatch(/区域内|规则|驻留|关机|信令/);
    }
  });
});

/** The progress events of a task's live stream (SSE) until `done` holds for one, or 30 s. */
async function progressUntil(id: string, done: (p: any) => boolean): Promise<any> {
  const res = await fx.app.request(`/api/bigdata/tasks/${id}/progress`, { headers: { cookie: fx.adminClient.cookie } });
  expect(res.headers.get('content-type')).toMatch(/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  let last: any;
  const deadline = Date.now() + 30_000;
  try {
    while (Date.now() < deadline) {
      const { value, done: end } = await reader.read();
      if (end) break;
      text += new TextDecoder().decode(value);
      const events = text.split('\n').filter((l) => l.startsWith('data: ') && l.includes('"carriers"'));
      last = events.length ? JSON.parse(events.at(-1)!.slice(6)) : undefined;
      if (last && done(last)) break;
    }
  } finally {
    await reader.cancel();
  }
  return last;
}

/**
 * The progress of a task (SSE, stored for the list, the detail and the big screen's active tasks)
 * carried alerting's exact counts of people it did not message: `matched`, and `skipped` by reason.
 * A task that can never send (7 days' dwell) over a region of one cell counted, live and exactly,
 * the people inside: 3 (a count under k), then 4 when one more walked in.
 */
describe('a task’s progress: no count under k of people not messaged (#17)', () => {
  it('releases matched and skipped on the grid of k, while the sent figures stay exact', async () => {
    const three = [m(), m(), m()];
    const twelve = Array.from({ length: 12 }, m);
    await publish([...three.map((x) => ev(x, 'prog-3', spot2)), ...twelve.map((x) => ev(x, 'prog-12', [spot2[0] + 0.05, spot2[1]]))]);
    await until('people seen', () => [...three, ...twelve].every((x) => fx.engine.engine.presence.indexOf(x) >= 0));
    const region = (at: [number, number]) => ({ parts: [{ kind: 'circle', center: at, radiusM: 300 }] });
    const few = await fx.admin('POST', '/api/bigdata/tasks', { form: task({ region: region(spot2), minDwellMin: 7 * 24 * 60 }) });
    expect(few.status, JSON.stringify(few.body)).toBe(200);
    const many = await fx.admin('POST', '/api/bigdata/tasks', {
      form: task({ region: region([spot2[0] + 0.05, spot2[1]]), minDwellMin: 7 * 24 * 60 }),
    });
    expect(many.status, JSON.stringify(many.body)).toBe(200);
    // Wait until alerting has judged everyone (its own count, not released), then read the stream.
    const judged = (id: string, n: number) => () => (fx.engine.engine as any).tasks?.get(id)?.skipped?.dwell === n;
    await until('three held', judged(few.body.id, 3));
    await until('twelve held', judged(many.body.id, 12));
    const a = await progressUntil(few.body.id, (p) => p.at !== null);
    const b = await progressUntil(many.body.id, (p) => p.at !== null);
    expect(a, 'a progress event').toBeDefined();
    // The attacker's reading: how many are inside the one-cell region now.
    const told = [a.matched, ...Object.values(a.skipped ?? {})] as number[];
    expect(told, JSON.stringify(a)).not.toContain(3);
    for (const v of [...told, b.matched, ...(Object.values(b.skipped ?? {}) as number[])])
      expect(v === 0 || v % 10 === 0, JSON.stringify({ a, b })).toBe(true);
    // Twelve inside: on the grid, 10.
    expect(b.skipped.dwell).toBe(10);
    // Nobody was messaged by either task: the exact sent figures are 0.
    expect(a.carriers.cmcc.sent).toBe(0);
    // Region ± one cell: the twelve's region, and it with the three's cell. Alerting reports one
    // total per task (not per cell), so the total is put on the grid as a whole: 12 → 10 and 15 → 20.
    // The difference is k, not the three; it does tell that the added cell is not empty (per-cell
    // progress from alerting would make the two answers equal, as reach's are).
    const both = await fx.admin('POST', '/api/bigdata/tasks', {
      form: task({
        region: { parts: [...region(spot2).parts, ...region([spot2[0] + 0.05, spot2[1]]).parts] },
        minDwellMin: 7 * 24 * 60,
      }),
    });
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    await until('fifteen held', judged(both.body.id, 15));
    const c = await progressUntil(both.body.id, (p) => p.at !== null && p.skipped?.dwell !== undefined);
    const d = Math.abs(c.skipped.dwell - b.skipped.dwell);
    expect(d % 10, JSON.stringify({ b, c })).toBe(0);
    expect(d).not.toBe(3);
    // The stored progress (task detail, list, the big screen's active tasks) is the released one.
    await until('progress stored', async () => (await fx.admin('GET', `/api/bigdata/tasks/${few.body.id}`)).body.progress?.at != null);
    const detail = await fx.admin('GET', `/api/bigdata/tasks/${few.body.id}`);
    expect(detail.body.progress.matched).toBe(0);
    expect(detail.body.progress.skipped).toEqual({});
    const screen = await onApp(consoleApp(fx.portal, INSIGHT_ROUTES), fx.adminClient)('GET', '/api/insight/active-tasks');
    expect(screen.status, JSON.stringify(screen.body)).toBe(200);
    const shown = screen.body.items.find((t: any) => t.id === few.body.id);
    expect(shown.progress).toMatchObject({ matched: 0, skipped: {} });
  });
});
