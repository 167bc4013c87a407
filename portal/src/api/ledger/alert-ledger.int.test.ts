import { CAPS_BUCKET, KvBudget, runEngine, type RunningEngine } from '@geo/alerting';
import { connectNats, createLogger, ensureKv, type NatsConnection } from '@geo/infra';
import { startNatsServer, until, type RunningNats } from '@geo/infra/testing';
import { DEFAULT_SHARDS, encodeLocationBatch, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { jetstream } from '@nats-io/jetstream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../auth/password.ts';
import type { Portal } from '../../portal.ts';
import { login, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';
import { AlertBus, setAlertBus } from '../bigdata/alert-bus.ts';
import { PNG_BYTES } from '../bigdata/console-harness.ts';
import { unbalanced } from './ledger.ts';
import { settleEnded } from './runtime.ts';

const shanghaiToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const CENTRE: [number, number] = [120.16, 30.27];

/**
 * The ledger against the real alerting engine (its own nats-server, so that this engine takes no
 * deliveries from alerting's own tests on the shared one): an alert task submitted through the
 * portal reserves its totals, the engine sends to the people inside, and when the task is stopped
 * the portal's balance is the opening balance minus what was sent.
 */
describe('one ledger with the real alerting engine', () => {
  let dir: string;
  let nats: RunningNats;
  let nc: NatsConnection;
  let engine: RunningEngine;
  let portal: Portal;
  let admin: Client;
  let letter: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-alert-'));
    nats = await startNatsServer({ dataDir: join(dir, 'nats') });
    nc = await connectNats(nats.url, 'portal-ledger-alert');
    engine = await runEngine({
      nc,
      log: createLogger('alerting-test', 'silent'),
      shards: Array.from({ length: DEFAULT_SHARDS }, (_, i) => i),
      tickMs: 200,
    });
    await engine.ready;
    portal = await testPortal();
    setAlertBus(portal.deps, await AlertBus.open(nc));
    const db = portal.deps.db;
    await db.query(`INSERT INTO enterprises (id, name, quota, access_number) VALUES ('alert-ent', '预警集团', 100, '1069000444')`);
    await db.query(
      `INSERT INTO accounts (id, enterprise_id, name, display_name, role, password_hash) VALUES ('alert-admin', 'alert-ent', 'alert-admin', '预警管理员', 'admin', $1)`,
      [await hashPassword('Alert-Admin-2024', 10)],
    );
    await db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status, is_default) VALUES ('alert-sig', 'alert-ent', '应急管理局', 'approved', true)`,
    );
    admin = await login(portal, 'alert-admin', 'Alert-Admin-2024');
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    letter = (await admin.reqRaw('POST', '/api/bigdata/letters', fd)).body.id;
  }, START_TIMEOUT);
  afterAll(async () => {
    await portal?.stop();
    await engine?.stop();
    await nc?.drain();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('charges an alert what the engine sent: reserved at submit, the rest released when it is stopped', async () => {
    const form = {
      alertType: 'rainstorm',
      region: { parts: [{ kind: 'circle', center: CENTRE, radiusM: 2000 }] },
      subject: '暴雨 账本',
      content: '暴雨预警：请注意安全。',
      signature: '应急管理局',
      startDate: shanghaiToday(),
      endDate: shanghaiToday(),
      windows: [],
      frequency: 'once',
      minDwellMin: 0,
      rules: [],
      quota: { cmcc: { total: 50, dailyCap: 50 } },
      authorizationLetter: letter,
    };
    const t = await admin.req('POST', '/api/bigdata/tasks', { form });
    expect(t.status).toBe(200);
    expect((await admin.req('GET', '/api/home/quota')).body).toMatchObject({ enterpriseQuota: 50, reserved: 50 });

    // 30 people of China Mobile inside the circle, 10 outside.
    const people = (n: number, from: number, at: [number, number]): LocationEvent[] =>
      Array.from({ length: n }, (_, i) => ({
        msisdn: `1390000${String(from + i).padStart(4, '0')}`,
        carrier: 'cmcc',
        ts: Date.now(),
        cell: `c-${from + i}`,
        lng: at[0] + i * 1e-4,
        lat: at[1],
        kind: 'periodic',
      }));
    const events = [...people(30, 0, CENTRE), ...people(10, 100, [CENTRE[0] + 0.5, CENTRE[1]])];
    const js = jetstream(nc);
    for (const e of events) await js.publish(locationSubject(e.carrier, shardOf(e.msisdn)), encodeLocationBatch([e]));
    const caps = new KvBudget(await ensureKv(nc, CAPS_BUCKET, {}));
    await until('30 sent', async () => (await caps.usedTotals(t.body.id, ['cmcc'])).cmcc === 30, 45_000, 200);

    expect((await admin.req('POST', `/api/bigdata/tasks/${t.body.id}/stop`)).status).toBe(200);
    await settleEnded(portal.deps, { graceMs: 0 });
    expect((await admin.req('GET', '/api/home/quota')).body).toMatchObject({ enterpriseQuota: 70, reserved: 0 });
    expect(await unbalanced(portal.deps.db, 'alert-ent')).toEqual([]);
    const kinds = (await admin.req('GET', '/api/home/ledger')).body.items.map(
      (x: { kind: string; amount: number }) => `${x.kind} ${x.amount}`,
    );
    expect(kinds).toEqual(['release 20', 'reserve -50', 'opening 100']);
  });
});
