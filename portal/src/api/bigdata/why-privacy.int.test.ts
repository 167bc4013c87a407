import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { encodeLocationBatch, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { runEngine, type RunningEngine } from '@geo/alerting';
import { connectNats, type NatsConnection } from '@geo/infra';
import { startNatsServer, until, type RunningNats } from '@geo/infra/testing';
import { jetstream } from '@nats-io/jetstream';
import type { Portal } from '../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../test/harness.ts';
import { AlertBus, setAlertBus } from './alert-bus.ts';
import { consoleApp, onApp, PNG_BYTES } from './console-harness.ts';
import { BIGDATA_ROUTES } from './index.ts';

/**
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
let dir: string;
let server: RunningNats;
let nc: NatsConnection;
let engine: RunningEngine;
let portal: Portal;
let admin: ReturnType<typeof onApp>;
let letter: string;

const spot: [number, number] = [120.41, 29.41];
const far: [number, number] = [120.6, 29.6];
let n = 0;
const m = () => `139${String(72_000_000 + n++).padStart(8, '0')}`;
const ev = (msisdn: string, cell: string, at: [number, number], over: Partial<LocationEvent> = {}): LocationEvent => ({
  msisdn,
  carrier: 'cmcc',
  ts: Date.now(),
  cell,
  lng: at[0],
  lat: at[1],
  kind: 'periodic',
  ...over,
});
async function publish(events: LocationEvent[]) {
  const js = jetstream(nc);
  for (const e of events) await js.publish(locationSubject(e.carrier, shardOf(e.msisdn)), encodeLocationBatch([e]));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'why-privacy-'));
  server = await startNatsServer({ dataDir: dir });
  nc = await connectNats(server.url, 'why-privacy');
  engine = await runEngine({ nc, log: pino({ level: 'silent' }), shards: [0, 1, 2, 3, 4, 5, 6, 7], instance: 'why-privacy', tickMs: 200 });
  await engine.ready;
  portal = await testPortal();
  setAlertBus(portal.deps, await AlertBus.open(nc));
  admin = onApp(consoleApp(portal, BIGDATA_ROUTES), await loginAdmin(portal));
  const fd = new FormData();
  fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
  letter = (await admin('POST', '/api/bigdata/letters', fd)).body.id;
}, START_TIMEOUT);
afterAll(async () => {
  await portal?.stop();
  await engine?.stop();
  await nc?.drain();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

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
  authorizationLetter: letter,
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
    await until('people seen', () => [woman, inside, outside, off].every((x) => engine.engine.presence.indexOf(x) >= 0));

    // A task that messages women only, and one that can never send (7 days' dwell): free to run.
    const byRule = await admin('POST', '/api/bigdata/tasks', {
      form: task({ rules: [{ attribute: 'gender', action: 'keep', values: ['f'] }] }),
    });
    expect(byRule.status, JSON.stringify(byRule.body)).toBe(200);
    const byDwell = await admin('POST', '/api/bigdata/tasks', { form: task({ minDwellMin: 7 * 24 * 60 }) });
    expect(byDwell.status, JSON.stringify(byDwell.body)).toBe(200);
    await until('woman sent', () => engine.engine.sentCount(byRule.body.id) === 1);

    const why = async (id: string, msisdn: string) => {
      const r = await admin('GET', `/api/bigdata/tasks/${id}/why?msisdn=${msisdn}`);
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
