import { connectClickHouse, migrateClickHouse, type ClickHouseClient } from '@geo/infra';
import { sendLogMigrations } from '@geo/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { login, loginAdmin, START_TIMEOUT, testPortal } from '../../test/harness.ts';
import { DEMO_CREDENTIALS } from '../../demo/credentials.ts';
import { readTrends } from './trends.ts';

// The send log's shape as messaging creates it (messaging/src/send-log/schema.ts), under our own table name.
const TABLE = `sms_log_portal_home_${process.pid}`;

describe('home: quota and send trends from the ClickHouse send log', () => {
  let portal: Portal;
  let ch: ClickHouseClient;
  beforeAll(async () => {
    ch = connectClickHouse(inject('clickhouseUrl'));
    portal = await testPortal({ clickhouseUrl: inject('clickhouseUrl'), smsLogTable: TABLE });
  }, START_TIMEOUT);
  afterAll(async () => {
    await ch?.command({ query: `DROP TABLE IF EXISTS ${TABLE}` });
    await ch?.close();
    await portal?.stop();
  });

  it('shows zeros with a note while the send log does not exist', async () => {
    const admin = await loginAdmin(portal);
    const r = await admin.req('GET', '/api/home/trends');
    expect(r.body.source).toBe('unavailable');
    expect(r.body.note).toBeTruthy();
    expect(r.body.daily).toHaveLength(30);
    expect(r.body.monthly).toHaveLength(12);
    expect(r.body.daily.every((p: { total: number }) => p.total === 0)).toBe(true);
  });

  it('counts total, delivered and failed per day and month, latest state per job, per tenant and account', async () => {
    await migrateClickHouse(ch, `portal-home-test-${process.pid}`, sendLogMigrations(TABLE));
    const now = Math.floor(Date.now() / 1000);
    const row = (job: string, ent: string, acct: string, status: string, createdAt: number, version: number) => ({
      job_id: job,
      source: 'industry',
      enterprise_id: ent,
      account_id: acct,
      send_id: 's1',
      task: 0,
      msisdn: '13800138000',
      carrier: 'cmcc',
      segments: 1,
      created_at: createdAt,
      submit_time: createdAt,
      message_id: '',
      message_ids: [],
      status,
      code: '',
      status_time: createdAt,
      version,
    });
    const twoDaysAgo = now - 2 * 86400;
    await ch.insert({
      table: TABLE,
      format: 'JSONEachRow',
      values: [
        row('j1', 'demo-enterprise', 'demo-admin', 'submitted', now, 1),
        row('j1', 'demo-enterprise', 'demo-admin', 'delivered', now, 2), // the same job, later state
        row('j2', 'demo-enterprise', 'demo-sub', 'failed', now, 5),
        row('j3', 'demo-enterprise', 'demo-sub', 'submitted', twoDaysAgo, 1),
        row('j4', 'other-enterprise', 'x', 'delivered', now, 2),
      ],
    });
    const admin = await loginAdmin(portal);
    const r = await admin.req('GET', '/api/home/trends');
    expect(r.body.source).toBe('clickhouse');
    const today = r.body.daily.at(-1);
    expect(today).toMatchObject({ total: 2, success: 1, failed: 0 + 1 });
    expect(r.body.daily.at(-3).total).toBe(1);
    const months = r.body.monthly.reduce((s: number, p: { total: number }) => s + p.total, 0);
    expect(months).toBe(3);
    // A sub-account sees its own sends.
    const sub = await login(portal, DEMO_CREDENTIALS.sub.name, DEMO_CREDENTIALS.sub.password);
    const mine = await sub.req('GET', '/api/home/trends');
    expect(mine.body.daily.at(-1)).toMatchObject({ total: 1, success: 0, failed: 1 });
  });

  it('answers zeros, not an error, when ClickHouse is unreachable', async () => {
    const t = await readTrends(connectClickHouse('http://127.0.0.1:9'), TABLE, { enterpriseId: 'demo-enterprise' });
    expect(t.source).toBe('unavailable');
    expect(t.daily).toHaveLength(30);
  });

  it('shows my quota and the enterprise quota', async () => {
    const sub = await login(portal, DEMO_CREDENTIALS.sub.name, DEMO_CREDENTIALS.sub.password);
    const q = await sub.req('GET', '/api/home/quota');
    expect(q.body).toMatchObject({ myQuota: 5000, enterpriseQuota: 100000, enterpriseName: '演示集团' });
  });
});
