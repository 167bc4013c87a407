import { CAPS_BUCKET, KvBudget } from '@geo/alerting';
import { ensureKv, type NatsConnection } from '@geo/infra';
import { until } from '@geo/infra/testing';
import { encodeLocationBatch, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { START_TIMEOUT, type Client } from '../../test/harness.ts';
import { shanghaiToday, startEngineConsole, type EngineConsole } from '../bigdata/console-harness.ts';
import { unbalanced } from './ledger.ts';
import { settleEnded } from './runtime.ts';

const CENTRE: [number, number] = [120.16, 30.27];

/**
 * The ledger against the real alerting engine (its own nats-server, so that this engine takes no
 * deliveries from alerting's own tests on the shared one): an alert task submitted through the
 * portal reserves its totals, the engine sends to the people inside, and when the task is stopped
 * the portal's balance is the opening balance minus what was sent.
 */
describe('one ledger with the real alerting engine', () => {
  let stack: EngineConsole;
  let nc: NatsConnection;
  let portal: Portal;
  let admin: Client;
  let letter: string;

  beforeAll(async () => {
    stack = await startEngineConsole({
      id: 'alert-ent',
      name: '预警集团',
      quota: 100,
      accessNumber: '1069000444',
      password: 'Alert-Admin-2024',
    });
    ({ nc, portal, admin, letter } = stack);
  }, START_TIMEOUT);
  afterAll(async () => {
    await stack?.stop();
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
