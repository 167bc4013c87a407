import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { ident, list, selectRows, sql, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { untilValue, type ServiceProcess } from '@geo/infra/testing';
import { messagingNames, type SmsJob } from '@geo/messaging';
import { CaseTally } from './report.ts';
import { startMessagingProcesses, type MessagingProcesses } from './messaging-processes.ts';
import { tapDeadLetters } from './stream-tap.ts';

/**
 * Bad SMS jobs at messaging's job consumer, against the real processes (`messaging/src/main.ts`
 * and the simulated SMSCs, `messaging/src/smsc-sim/main.ts`) under a namespace and a send-log
 * table of this file's own. Every bad job travels between two good ones: it is dead-lettered with
 * a reason naming the field; the good ones are delivered and logged in ClickHouse; the service
 * stays up. Hostile text in the ids lands in the ClickHouse send log as inert text.
 */

const tally = new CaseTally('messaging-jobs');
const RUN = randomBytes(3).toString('hex');
const NS = `badin${RUN}`;
const names = messagingNames(NS);
const TABLE = `sms_log_${NS}`;
const MARK = new RegExp(`MJ${RUN}x\\d+`);

let seq = 0;
const fresh = () => {
  const n = ++seq;
  return { n, mark: `MJ${RUN}x${n}`, id: (k: number) => `MJ${RUN}x${n}-${k}` };
};
const job = (jobId: string, over: Partial<SmsJob> = {}): SmsJob => ({
  jobId,
  source: 'industry',
  enterpriseId: 'ent-bad-input',
  accountId: 'acc-bad-input',
  sendId: `send-${RUN}`,
  msisdn: '13800138000',
  carrier: 'cmcc',
  content: '明天有雨，记得带伞。',
  signature: '气象台',
  createdAt: Date.now(),
  ...over,
});

describe('bad SMS jobs at messaging (real messaging and SMSC processes)', () => {
  let procs: MessagingProcesses;
  let messaging: ServiceProcess;
  let nc: NatsConnection;
  let ch: ClickHouseClient;
  let dead: Awaited<ReturnType<typeof tapDeadLetters>>;

  beforeAll(async () => {
    const since = new Date(Date.now() - 1000);
    procs = await startMessagingProcesses(NS, 'proof-bad-input-messaging');
    ({ messaging, nc, ch } = procs);
    dead = await tapDeadLetters(nc, 'messaging', since, MARK);
  }, 180_000);

  afterAll(async () => {
    dead?.stop();
    await procs?.stop();
    tally.write();
  });

  const js = () => jetstream(nc, { timeout: 15_000 });
  const publish = (payload: string, id: string) => js().publish(names.jobSubject('cmcc'), payload, { msgID: id });
  interface Row {
    job_id: string;
    status: string;
    enterprise_id: string;
    account_id: string;
    send_id: string;
  }
  const rowsOf = (ids: string[]) =>
    selectRows<Row>(
      ch,
      sql`SELECT job_id, status, enterprise_id, account_id, send_id FROM ${ident(TABLE)} FINAL WHERE job_id IN ${list(ids)}`.text,
    );
  /** Waits until every job has a final (not merely submitted) row, and returns the rows. */
  const finalRows = (ids: string[]) =>
    untilValue(
      `send-log rows for ${ids.join(', ')}`,
      async () => {
        const rows = (await rowsOf(ids).catch(() => [])).filter((r) => r.status !== 'submitted');
        return rows.length === ids.length ? rows : undefined;
      },
      60_000,
    );

  interface JobCase {
    name: string;
    payload: (c: ReturnType<typeof fresh>) => string;
    says: RegExp;
  }
  const badJob = (c: ReturnType<typeof fresh>, over: Record<string, unknown>) => JSON.stringify({ ...job(c.id(5)), mark: c.mark, ...over });
  const CASES: JobCase[] = [
    { name: 'not JSON', payload: (c) => `{"jobId":"${c.mark}"`, says: /^not valid JSON/ },
    { name: 'plain text', payload: (c) => `${c.mark} send an SMS please`, says: /^not valid JSON/ },
    { name: 'a JSON array', payload: (c) => `["${c.mark}"]`, says: /contract/ },
    { name: 'no jobId', payload: (c) => badJob(c, { jobId: undefined }), says: /jobId/ },
    { name: 'a jobId of 201 characters', payload: (c) => badJob(c, { jobId: `${c.mark}${'j'.repeat(201)}` }), says: /jobId/ },
    { name: 'an unknown source', payload: (c) => badJob(c, { source: 'spam' }), says: /source/ },
    { name: 'a msisdn that is not a mobile number', payload: (c) => badJob(c, { msisdn: '12345' }), says: /msisdn/ },
    { name: 'a msisdn as a number', payload: (c) => badJob(c, { msisdn: 13800138000 }), says: /msisdn/ },
    { name: 'a msisdn with SQL in it', payload: (c) => badJob(c, { msisdn: "13800138000' OR 1=1" }), says: /msisdn/ },
    { name: 'an unknown carrier', payload: (c) => badJob(c, { carrier: 'xxcc' }), says: /carrier/ },
    { name: 'empty content', payload: (c) => badJob(c, { content: '' }), says: /content/ },
    { name: 'content of 2,001 characters', payload: (c) => badJob(c, { content: '雨'.repeat(2001) }), says: /content/ },
    { name: 'a signature of 21 characters', payload: (c) => badJob(c, { signature: '签'.repeat(21) }), says: /signature/ },
    { name: 'an extension with letters', payload: (c) => badJob(c, { extension: '12a' }), says: /extension/ },
    { name: 'a forwardTo that is not a number', payload: (c) => badJob(c, { forwardTo: '<script>' }), says: /forwardTo/ },
    { name: 'createdAt as a string', payload: (c) => badJob(c, { createdAt: new Date().toISOString() }), says: /createdAt/ },
    { name: 'a negative createdAt', payload: (c) => badJob(c, { createdAt: -5 }), says: /createdAt/ },
    { name: 'task -1', payload: (c) => badJob(c, { task: -1 }), says: /task/ },
    { name: 'task 70,000', payload: (c) => badJob(c, { task: 70_000 }), says: /task/ },
    { name: 'an empty enterpriseId', payload: (c) => badJob(c, { enterpriseId: '' }), says: /enterpriseId/ },
    { name: 'enterpriseId as an object', payload: (c) => badJob(c, { enterpriseId: { $ne: null } }), says: /enterpriseId/ },
  ];

  it.each(tally.add('messaging SMS jobs (contract)', CASES))(
    '$name → dead-lettered naming it; the good jobs beside it are delivered',
    async (jc) => {
      const c = fresh();
      await publish(JSON.stringify(job(c.id(1))), c.id(1));
      await publish(jc.payload(c), c.id(5));
      await publish(JSON.stringify(job(c.id(2), { carrier: 'cmcc' })), c.id(2));
      const d = await dead.get(c.mark, 60_000);
      expect(d.reason).toMatch(jc.says);
      expect(d.source.stream).toBe(names.jobsStream);
      const rows = await finalRows([c.id(1), c.id(2)]);
      expect(rows.map((r) => r.status).sort()).toEqual(['delivered', 'delivered']);
      expect(await rowsOf([c.id(5)])).toEqual([]);
    },
  );

  const HOSTILE = [`x'); DROP TABLE ${'sms_log'}; --`, `\\'; DROP TABLE t; --`, `<script>alert(1)</script>`, `' OR '1'='1`, `{{7*7}}`];
  it.each(
    tally.add(
      'messaging SMS jobs (injection)',
      HOSTILE.map((text) => ({ text })),
    ),
  )('ids and names $text land in the ClickHouse send log byte for byte', async ({ text }) => {
    const c = fresh();
    const jobId = `${c.id(1)}${text}`;
    await publish(JSON.stringify(job(jobId, { enterpriseId: text, accountId: text, sendId: text, content: text })), c.id(1));
    const [row] = await finalRows([jobId]);
    expect(row).toMatchObject({ job_id: jobId, enterprise_id: text, account_id: text, send_id: text, status: 'delivered' });
    const tables = await selectRows<{ name: string }>(ch, sql`SELECT name FROM system.tables WHERE name IN ${list([TABLE])}`.text);
    expect(tables).toHaveLength(1);
  });

  it(
    tally.one(
      'messaging SMS jobs (contract)',
      'a cmcc job to a China Telecom number (199…) reaches a final state in the send log, not lost',
    ),
    async () => {
      const c = fresh();
      await publish(JSON.stringify(job(c.id(1), { msisdn: '19900000000', carrier: 'cmcc' })), c.id(1));
      const [row] = await finalRows([c.id(1)]);
      expect(['rejected', 'delivered']).toContain(row!.status);
    },
  );

  it('is still up and healthy after all of it', async () => {
    expect(messaging.alive()).toBe(true);
    expect(await messaging.healthy()).toBe(true);
  });
});
