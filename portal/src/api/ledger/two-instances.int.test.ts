import { connectClickHouse, migrateClickHouse, type ClickHouseClient } from '@geo/infra';
import { sendLogMigrations } from '@geo/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshDatabase } from '../../jobs/test-database.ts';
import type { Portal } from '../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';
import { unbalanced } from './ledger.ts';
import { refundFailed } from './refunds.ts';
import { reserveTask, settleTask } from './reservations.ts';

/**
 * The ledger's background passes run in every portal instance (#19): two of them passing over the
 * same send or task at the same moment must refund and release once. Needs a PostgreSQL server
 * (TEST_DATABASE_URL): PGlite cannot be shared between instances.
 */
const pgUrl = inject('postgresUrl');
const ENT = 'demo-enterprise';

describe.skipIf(!pgUrl)('the ledger with two portal instances on one PostgreSQL server (needs TEST_DATABASE_URL)', () => {
  const TABLE = `sms_log_portal_two_${process.pid}`;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let ch: ClickHouseClient;
  let a: Portal;
  let b: Portal;
  let admin: Client;

  const balance = async () =>
    Number((await a.deps.db.query<{ quota: string }>('SELECT quota FROM enterprises WHERE id = $1', [ENT])).rows[0]!.quota);
  const entries = async (refId: string) =>
    (
      await b.deps.db.query<{ kind: string; amount: number }>(
        `SELECT kind, amount FROM quota_ledger WHERE ref_id = $1 AND balance_of = 'enterprise' ORDER BY id`,
        [refId],
      )
    ).rows.map((r) => `${r.kind} ${r.amount}`);

  beforeAll(async () => {
    db = await freshDatabase(pgUrl, `portal_ledger_two_${process.pid}`);
    ch = connectClickHouse(inject('clickhouseUrl'));
    await migrateClickHouse(ch, `portal-ledger-two-${process.pid}`, sendLogMigrations(TABLE));
    const cfg = { databaseUrl: db.url, clickhouseUrl: inject('clickhouseUrl'), smsLogTable: TABLE };
    a = await testPortal(cfg);
    b = await testPortal(cfg);
    admin = await loginAdmin(a);
  }, START_TIMEOUT);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await ch?.command({ query: `DROP TABLE IF EXISTS ${TABLE}` }).catch(() => undefined);
    await ch?.close();
    await db?.drop();
  });

  it('refunds the failed numbers of a send once when both instances pass at the same time', async () => {
    const numbers = Array.from({ length: 6 }, (_, i) => `1380013${String(7000 + i)}`);
    const s = await admin.req('POST', '/api/industry/sends', { recipients: numbers.join(','), content: '两个实例退回' });
    expect(s.status).toBe(200);
    const id: string = s.body.id;
    await a.deps.db.query(`UPDATE sms_sends SET state = 'sent', sent_at = now() WHERE id = $1`, [id]);
    const before = await balance();
    const now = Math.floor(Date.now() / 1000);
    await ch.insert({
      table: TABLE,
      format: 'JSONEachRow',
      values: numbers.map((msisdn, i) => ({
        job_id: `${id}:${i + 1}`,
        source: 'industry',
        enterprise_id: ENT,
        account_id: 'demo-admin',
        send_id: id,
        task: 0,
        msisdn,
        carrier: 'cmcc',
        segments: 1,
        created_at: now,
        submit_time: now,
        message_id: '',
        message_ids: [],
        status: i < 4 ? 'failed' : 'delivered',
        code: '',
        status_time: now,
        version: 2,
      })),
    });

    const passes = await Promise.all([refundFailed(a.deps), refundFailed(b.deps), refundFailed(a.deps), refundFailed(b.deps)]);
    expect(passes.reduce((x, y) => x + y, 0)).toBe(4);
    expect(await balance()).toBe(before + 4);
    expect((await entries(id)).filter((e) => e.startsWith('refund'))).toEqual(['refund 4']);
    expect(await unbalanced(b.deps.db, ENT)).toEqual([]);
  });

  it("settles a task's reservation once when both instances settle it at the same time", async () => {
    const taskId = `bd-two-instances-${process.pid}`;
    await a.deps.db.transaction((tx) =>
      reserveTask(tx, {
        id: taskId,
        enterpriseId: ENT,
        accountId: 'demo-admin',
        spec: { signature: '应急', content: '台风预警', quota: { cmcc: { total: 50 } } },
      }),
    );
    const before = await balance();
    const settled = await Promise.all([
      settleTask(a.deps.db, taskId, 30),
      settleTask(b.deps.db, taskId, 30),
      settleTask(b.deps.db, taskId, 30),
    ]);
    expect(settled.filter((x) => x !== undefined)).toEqual([20]);
    expect(await balance()).toBe(before + 20);
    expect(await entries(taskId)).toEqual(['reserve -50', 'release 20']);
    expect(await unbalanced(a.deps.db, ENT)).toEqual([]);
  });
});
