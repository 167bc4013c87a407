import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { cellToLatLng, latLngToCell } from 'h3-js';
import { encodeLocationBatch, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { runEngine, TaskStore, TASKS_BUCKET, type AlertTaskSpecInput, type RunningEngine } from '@geo/alerting';
import { connectNats, startNatsServer, type NatsConnection, type RunningNats } from '@geo/infra';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { Portal } from '../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../test/harness.ts';
import { AlertBus, setAlertBus } from './alert-bus.ts';
import { addAccount, consoleApp, loginAs, onApp, PNG_BYTES } from './console-harness.ts';
import { BIGDATA_ROUTES } from './index.ts';

/**
 * The task detail of a running task, against a real alerting engine (its own nats-server): the
 * text shown is the text being sent after an update, and the "reached" layer shows the people
 * messaged (where they were when messaged, by the privacy rule), not whoever is inside now.
 */
let dir: string;
let server: RunningNats;
let nc: NatsConnection;
let engine: RunningEngine;
let portal: Portal;
let admin: ReturnType<typeof onApp>;
let letter: string;

const spot: [number, number] = [120.31, 29.31];
const elsewhere: [number, number] = [120.3, 29.3];
let n = 0;
const m = () => `139${String(71_000_000 + n++).padStart(8, '0')}`;
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
async function until(what: string, f: () => Promise<boolean> | boolean, ms = 30_000) {
  for (const end = Date.now() + ms; !(await f());) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'task-detail-'));
  server = await startNatsServer({ dataDir: dir });
  nc = await connectNats(server.url, 'task-detail');
  engine = await runEngine({ nc, log: pino({ level: 'silent' }), shards: [0, 1, 2, 3, 4, 5, 6, 7], instance: 'task-detail', tickMs: 200 });
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
  rmSync(dir, { recursive: true, force: true });
});

describe('task detail of a running task', () => {
  it('shows the updated text being sent, the people messaged on the reached layer, and why a number was not sent', async () => {
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const form = {
      alertType: 'rainstorm',
      region: { parts: [{ kind: 'circle', center: spot, radiusM: 800 }] },
      subject: '详情测试',
      content: '第一版内容',
      signature: '翼讯通',
      startDate: today,
      endDate: today,
      windows: [],
      frequency: 'once',
      minDwellMin: 0,
      rules: [{ attribute: 'gender', action: 'keep', values: ['f'] }],
      quota: { cmcc: { total: 1000, dailyCap: 1000 } },
      authorizationLetter: letter,
    };
    // 12 women in one cell are messaged; 12 men beside them are not (rule).
    const women = Array.from({ length: 12 }, m),
      men = Array.from({ length: 12 }, m);
    await publish([
      ...women.map((x) => ev(x, 'w-cell', spot, { gender: 'f' })),
      ...men.map((x) => ev(x, 'm-cell', [spot[0] + 0.004, spot[1]], { gender: 'm' })),
    ]);
    await until('people seen', () => [...women, ...men].every((x) => engine.engine.presence.indexOf(x) >= 0));
    const r = await admin('POST', '/api/bigdata/tasks', { form });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const id = r.body.id as string;
    await until('women sent', () => engine.engine.sentCount(id) === women.length);

    // The women walk out of the region; more men walk into the women's old cell.
    await publish(women.map((x) => ev(x, 'away', elsewhere, { gender: 'f' })));
    const more = Array.from({ length: 12 }, m);
    await publish(more.map((x) => ev(x, 'w-cell', spot, { gender: 'm' })));
    await until('moves applied', () => more.every((x) => engine.engine.presence.indexOf(x) >= 0));

    const reached = await admin('GET', `/api/bigdata/tasks/${id}/reached?zoom=12`);
    expect(reached.status, JSON.stringify(reached.body)).toBe(200);
    const h3 = latLngToCell(spot[1], spot[0], reached.body.resolution);
    expect(reached.body.cells).toEqual([{ h3, count: { value: 12, suppressed: false } }]);
    const [lat, lng] = cellToLatLng(h3);
    expect(Math.abs(lat - spot[1]) + Math.abs(lng - spot[0])).toBeLessThan(0.1);

    // An update while running (the alerting CLI, or any writer of the bucket): new text.
    const store = new TaskStore(await new Kvm(nc).open(TASKS_BUCKET));
    const cur = (await store.get(id))!.task;
    await store.update(id, { ...(cur.spec as AlertTaskSpecInput), content: '第二版内容' });
    const detail = await admin('GET', `/api/bigdata/tasks/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.form.content).toBe('第二版内容');
    expect(detail.body.spec.content).toBe('第二版内容');
    expect(detail.body.version).toBe(2);

    // Why did a number not get it: the enterprise's own task only, the number masked.
    const why = async (msisdn: string) => (await admin('GET', `/api/bigdata/tasks/${id}/why?msisdn=${encodeURIComponent(msisdn)}`)).body;
    const sent = await why(women[0]!);
    expect(sent).toMatchObject({
      msisdn: `${women[0]!.slice(0, 3)}****${women[0]!.slice(7)}`,
      reason: 'sent',
      reasonLabel: expect.stringContaining('已发送'),
    });
    expect(Date.parse(sent.sentAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(JSON.stringify(sent)).not.toContain(women[0]);
    expect(await why(`+86 ${men[0]!.slice(0, 3)}-${men[0]!.slice(3)}`)).toMatchObject({
      reason: 'rule',
      reasonLabel: '被人群筛选规则排除',
    });
    expect((await why('13900000000')).reason).toBe('not_seen');
    const bad = await admin('GET', `/api/bigdata/tasks/${id}/why?msisdn=12345`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('11 位手机号码');
    const other = onApp(consoleApp(portal, BIGDATA_ROUTES), await loginAs(portal, await addAccount(portal, 'other-enterprise')));
    expect((await other('GET', `/api/bigdata/tasks/${id}/why?msisdn=${women[0]}`)).status).toBe(404);
  });
});
