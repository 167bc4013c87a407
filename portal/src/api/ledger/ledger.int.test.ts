import { CAPS_BUCKET, KvBudget } from '@geo/alerting';
import { connectClickHouse, connectNats, ensureKv, migrateClickHouse, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { sendLogMigrations } from '@geo/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../auth/password.ts';
import type { Portal } from '../../portal.ts';
import { login, loginOperator, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';
import { AlertBus, setAlertBus } from '../bigdata/alert-bus.ts';
import { PNG_BYTES } from '../bigdata/console-harness.ts';
import { unbalanced } from './ledger.ts';
import { adjustReservation } from './reservations.ts';
import { refundFailed } from './refunds.ts';
import { settleEnded } from './runtime.ts';

const shanghaiToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const numbers = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `1380013${String(from + i).padStart(4, '0')}`);

const taskForm = (letter: string, total: number) => ({
  alertType: 'typhoon',
  region: { parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 1500 }] },
  subject: '台风 账本',
  content: '台风即将登陆，请注意安全。',
  signature: '账本测试',
  startDate: shanghaiToday(),
  endDate: shanghaiToday(),
  windows: [],
  frequency: 'once',
  minDwellMin: 0,
  rules: [],
  quota: { cmcc: { total, dailyCap: total } },
  authorizationLetter: letter,
});

/** PGlite always; a PostgreSQL server too when the run has one (TEST_DATABASE_URL): its row locks are real. */
const backends: [string, string | undefined][] = [['PGlite', undefined]];
if (inject('postgresUrl')) backends.push(['PostgreSQL server', inject('postgresUrl')]);

describe.each(backends)(
  'one ledger: every kind of send charges the balance the portal shows (%s, real NATS and ClickHouse)',
  (backend, databaseUrl) => {
    const tag = `${backend === 'PGlite' ? 'lite' : 'pg'}_${process.pid}`;
    const BUCKET = `alert_tasks_ledger_int_${tag}`;
    const TABLE = `sms_log_portal_ledger_${tag}`;
    let portal: Portal;
    let nc: NatsConnection;
    let ch: ClickHouseClient;
    let bus: AlertBus;
    let seq = 0;

    /** A fresh enterprise with `quota` units, its admin logged in, an approved signature and a letter. */
    async function enterprise(quota: number): Promise<{ id: string; admin: Client; letter: string }> {
      const id = `ledger-ent-${++seq}-${tag}-${Date.now().toString(36)}`;
      const db = portal.deps.db;
      await db.query(`INSERT INTO enterprises (id, name, quota, access_number) VALUES ($1, $2, $3, '1069000333')`, [
        id,
        `账本集团${seq}`,
        quota,
      ]);
      await db.query(
        `INSERT INTO accounts (id, enterprise_id, name, display_name, role, password_hash) VALUES ($1, $2, $1, '账本管理员', 'admin', $3)`,
        [`${id}-admin`, id, await hashPassword('Ledger-Admin-2024', 10)],
      );
      await db.query(`INSERT INTO signatures (id, enterprise_id, text, status, is_default) VALUES ($1, $2, '账本测试', 'approved', true)`, [
        `${id}-sig`,
        id,
      ]);
      const admin = await login(portal, `${id}-admin`, 'Ledger-Admin-2024');
      const fd = new FormData();
      fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
      const up = await admin.reqRaw('POST', '/api/bigdata/letters', fd);
      expect(up.status).toBe(200);
      return { id, admin, letter: up.body.id };
    }

    const quota = async (admin: Client) => (await admin.req('GET', '/api/home/quota')).body;

    beforeAll(async () => {
      ch = connectClickHouse(inject('clickhouseUrl'));
      await migrateClickHouse(ch, `portal-ledger-test-${tag}`, sendLogMigrations(TABLE));
      portal = await testPortal({ clickhouseUrl: inject('clickhouseUrl'), smsLogTable: TABLE, ...(databaseUrl ? { databaseUrl } : {}) });
      nc = await connectNats(inject('natsUrl'), 'portal-ledger-test');
      bus = await AlertBus.open(nc, { bucket: BUCKET, reachSubject: `alert.reach.ledger-${tag}` });
      setAlertBus(portal.deps, bus);
    }, START_TIMEOUT);
    afterAll(async () => {
      await ch?.command({ query: `DROP TABLE IF EXISTS ${TABLE}` });
      await ch?.close();
      await nc?.drain();
      await portal?.stop();
    });

    it('two big-data tasks and an industry send racing for the last 40 units: exactly two go through, 40 used, none over', async () => {
      const e = await enterprise(40);
      const [t1, t2, send] = await Promise.all([
        e.admin.req('POST', '/api/bigdata/tasks', { form: taskForm(e.letter, 20) }),
        e.admin.req('POST', '/api/bigdata/tasks', { form: taskForm(e.letter, 20) }),
        e.admin.req('POST', '/api/industry/sends', { recipients: numbers(20).join(','), content: '账本测试' }),
      ]);
      const statuses = [t1.status, t2.status, send.status];
      expect(statuses.filter((s) => s === 200)).toHaveLength(2);
      const refused = [t1, t2, send].find((r) => r.status !== 200)!;
      expect([400, 409]).toContain(refused.status);
      expect(JSON.stringify(refused.body)).toMatch(/余额不足|超过可用短信余量/);
      const q = await quota(e.admin);
      expect(q).toMatchObject({ enterpriseQuota: 0, available: 0 });
      expect(await unbalanced(portal.deps.db, e.id)).toEqual([]);
      const ledger = (await e.admin.req('GET', '/api/home/ledger?pageSize=50')).body;
      expect(
        ledger.items
          .filter((x: { kind: string }) => x.kind === 'charge' || x.kind === 'reserve')
          .reduce((s: number, x: { amount: number }) => s + x.amount, 0),
      ).toBe(-40);
    });

    it('four tasks and four industry sends of 10 racing for 45 units: exactly four go through, none over', async () => {
      const e = await enterprise(45);
      const rs = await Promise.all([
        ...[0, 1, 2, 3].map(() => e.admin.req('POST', '/api/bigdata/tasks', { form: taskForm(e.letter, 10) })),
        ...[0, 1, 2, 3].map((i) =>
          e.admin.req('POST', '/api/industry/sends', { recipients: numbers(10, 1000 + i * 10).join(','), content: '账本测试' }),
        ),
      ]);
      expect(rs.filter((r) => r.status === 200)).toHaveLength(4);
      expect(rs.filter((r) => r.status !== 200).every((r) => r.status === 400 || r.status === 409)).toBe(true);
      expect(await quota(e.admin)).toMatchObject({ enterpriseQuota: 5 });
      expect(await unbalanced(portal.deps.db, e.id)).toEqual([]);
    });

    it('after an alert the portal shows the ledger: the task is charged what alerting sent, the rest released when it stops', async () => {
      const e = await enterprise(0);
      // An operator tops the enterprise up: a ledger entry like any other.
      await portal.deps.db.query('UPDATE enterprises SET quota = quota + 100 WHERE id = $1', [e.id]);
      const t = await e.admin.req('POST', '/api/bigdata/tasks', { form: taskForm(e.letter, 50) });
      expect(t.status).toBe(200);
      expect(await quota(e.admin)).toMatchObject({ enterpriseQuota: 50, reserved: 50 });
      // Its totals change while it runs: the reservation follows, never past the balance.
      const spec = (total: number) => ({ signature: '账本测试', content: '台风即将登陆，请注意安全。', quota: { cmcc: { total } } });
      await expect(portal.deps.db.transaction((tx) => adjustReservation(tx, t.body.id, spec(101)))).rejects.toThrow(/余额不足/);
      expect(await portal.deps.db.transaction((tx) => adjustReservation(tx, t.body.id, spec(60)))).toBe(10);
      expect(await portal.deps.db.transaction((tx) => adjustReservation(tx, t.body.id, spec(50)))).toBe(-10);
      expect(await quota(e.admin)).toMatchObject({ enterpriseQuota: 50, reserved: 50 });
      // Alerting's side: 30 people sent through the same task budget the engine uses (caps bucket).
      const caps = new KvBudget(await ensureKv(nc, CAPS_BUCKET, {}));
      const scope = {
        taskId: t.body.id,
        carrier: 'cmcc' as const,
        day: shanghaiToday().replace(/-/g, ''),
        quota: { total: 50, dailyCap: 50 },
        accountId: `${e.id}-admin`,
      };
      expect((await caps.reserve(scope, 30)).granted).toBe(30);
      // Still running: nothing is settled yet; nor when its state cannot be read.
      await settleEnded(portal.deps, { graceMs: 0 });
      expect(await quota(e.admin)).toMatchObject({ enterpriseQuota: 50, reserved: 50 });
      const unreadable = { nc: bus.nc, get: async () => Promise.reject(new Error('timed out')) } as unknown as AlertBus;
      expect(await settleEnded(portal.deps, { graceMs: 0, bus: async () => unreadable })).toBe(0);
      expect(await quota(e.admin)).toMatchObject({ enterpriseQuota: 50, reserved: 50 });
      expect((await e.admin.req('POST', `/api/bigdata/tasks/${t.body.id}/stop`)).status).toBe(200);
      await settleEnded(portal.deps, { graceMs: 0 });
      const q = await quota(e.admin);
      expect(q).toMatchObject({ enterpriseQuota: 70, reserved: 0 });
      expect(await unbalanced(portal.deps.db, e.id)).toEqual([]);
      // Settling again changes nothing.
      await settleEnded(portal.deps, { graceMs: 0 });
      expect((await quota(e.admin)).enterpriseQuota).toBe(70);
      const kinds = (await e.admin.req('GET', '/api/home/ledger')).body.items.map(
        (x: { kind: string; amount: number }) => `${x.kind} ${x.amount}`,
      );
      expect(kinds).toEqual(['release 20', 'release 10', 'reserve -10', 'reserve -50', 'topup 100']);
    });

    it('gives back the billing units of numbers that failed, once, and only what the send took', async () => {
      const e = await enterprise(10);
      const s = await e.admin.req('POST', '/api/industry/sends', { recipients: numbers(3, 100).join(','), content: '失败退回' });
      expect(s.status).toBe(200);
      expect((await quota(e.admin)).enterpriseQuota).toBe(7);
      await portal.deps.db.query(`UPDATE sms_sends SET state = 'sent', sent_at = now() WHERE id = $1`, [s.body.id]);
      const now = Math.floor(Date.now() / 1000);
      const row = (seq: number, status: string, version: number) => ({
        job_id: `${s.body.id}:${seq}`,
        source: 'industry',
        enterprise_id: e.id,
        account_id: `${e.id}-admin`,
        send_id: s.body.id,
        task: 0,
        msisdn: numbers(1, 100 + seq)[0],
        carrier: 'cmcc',
        segments: 1,
        created_at: now,
        submit_time: now,
        message_id: '',
        message_ids: [],
        status,
        code: '',
        status_time: now,
        version,
      });
      await ch.insert({
        table: TABLE,
        format: 'JSONEachRow',
        values: [row(1, 'delivered', 2), row(2, 'submitted', 1), row(2, 'failed', 2), row(3, 'submitted', 1)],
      });
      await refundFailed(portal.deps);
      expect((await quota(e.admin)).enterpriseQuota).toBe(8);
      await refundFailed(portal.deps);
      expect((await quota(e.admin)).enterpriseQuota).toBe(8);
      // The third fails later: refunded in a later pass.
      await ch.insert({ table: TABLE, format: 'JSONEachRow', values: [row(3, 'expired', 2)] });
      await refundFailed(portal.deps);
      expect((await quota(e.admin)).enterpriseQuota).toBe(9);
      expect(await unbalanced(portal.deps.db, e.id)).toEqual([]);
    });

    it('holds an account to the send rate limit the operator set, saying how many numbers were held back; alert tasks are exempt by rule', async () => {
      const e = await enterprise(1000);
      const op = await loginOperator(portal);
      expect((await op.req('GET', '/api/operator/send-limits')).body).toEqual({
        sendsPerMinute: 60,
        numbersPerMinute: null,
        numbersPerDay: null,
      });
      expect(
        (
          await e.admin.req('PUT', `/api/operator/send-limits/${e.id}-admin`, {
            sendsPerMinute: null,
            numbersPerMinute: 5,
            numbersPerDay: null,
          })
        ).status,
      ).toBe(403);
      expect(
        (await op.req('PUT', `/api/operator/send-limits/${e.id}-admin`, { sendsPerMinute: null, numbersPerMinute: 5, numbersPerDay: null }))
          .status,
      ).toBe(200);
      expect((await e.admin.req('GET', '/api/home/send-limits')).body).toEqual({
        sendsPerMinute: null,
        numbersPerMinute: 5,
        numbersPerDay: null,
      });
      expect(
        (await e.admin.req('POST', '/api/industry/sends', { recipients: numbers(3, 200).join(','), content: '频率测试' })).status,
      ).toBe(200);
      const held = await e.admin.req('POST', '/api/industry/sends', { recipients: numbers(3, 300).join(','), content: '频率测试' });
      expect(held.status).toBe(429);
      expect(held.body.error).toMatchObject({
        code: 'RATE_LIMITED',
        details: { limit: 5, used: 3, window: 'minute', unit: 'numbers', heldBack: 3 },
      });
      expect(held.body.error.message).toMatch(/每分钟上限 5 个.*3 个号码未发送/);
      // Nothing was charged for what was held back; the operator sees what was.
      expect((await quota(e.admin)).enterpriseQuota).toBe(997);
      expect((await op.req('GET', `/api/operator/send-limits/${e.id}-admin`)).body).toMatchObject({
        own: true,
        numbersPerMinute: 5,
        heldBack: { today: { sends: 1, numbers: 3 } },
      });
      // A warning is not held behind the account's industry traffic.
      expect((await e.admin.req('POST', '/api/bigdata/tasks', { form: taskForm(e.letter, 10) })).status).toBe(200);
      // Back to the platform default: the send goes.
      expect((await op.req('DELETE', `/api/operator/send-limits/${e.id}-admin`)).status).toBe(200);
      expect(
        (await e.admin.req('POST', '/api/industry/sends', { recipients: numbers(3, 300).join(','), content: '频率测试' })).status,
      ).toBe(200);
    });
  },
);
