import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { ident, list, selectRows, sql, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { until, untilValue, readMetrics, type ServiceProcess } from '@geo/infra/testing';
import { messagingNames, type SmsJob } from '@geo/messaging';
import { CaseTally } from './report.ts';
import { startMessagingProcesses, type MessagingProcesses } from './messaging-processes.ts';
import { tapDeadLetters } from './stream-tap.ts';

/**
 * Bad deliver_sm from a carrier SMSC at messaging's SMPP binds, against the real processes
 * (`messaging/src/main.ts` and the simulated SMSCs, `messaging/src/smsc-sim/main.ts`, whose
 * `POST /deliver` sends a deliver_sm of the test's making): malformed delivery receipts (no id,
 * garbage text, an oversized id, no state, an unknown stat, an unknown message id), replies in
 * wrong or unsupported encodings, oversized texts, no sender, and bytes that are no PDU at all.
 * Each is dead-lettered with a reason and answered, so the SMSC stops sending it; a good job sent
 * after it is delivered and logged; the service stays up.
 */

const tally = new CaseTally('smsc-receipts');
const RUN = randomBytes(3).toString('hex');
const NS = `badrc${RUN}`;
const names = messagingNames(NS);
const TABLE = `sms_log_${NS}`;
const MARK = new RegExp(`RC${RUN}x\\d+`);
const ESM_RECEIPT = 0x04;

let seq = 0;
const fresh = () => {
  const n = ++seq;
  return { n, mark: `RC${RUN}x${n}` };
};

const ucs2 = (s: string) => Buffer.from(s, 'utf16le').swap16();
const hex = (b: Buffer | string) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b).toString('hex');

interface DeliverCase {
  name: string;
  /** The POST /deliver body; `mark` goes into the client_ref TLV (kept in the dead letter). */
  body: (mark: string) => { fields: Record<string, unknown>; shortMessageHex?: string; messagePayloadHex?: string };
  says: RegExp;
}

const receipt = (mark: string, over: Record<string, unknown> = {}) => ({
  source_addr: '13800138000',
  destination_addr: '106571',
  esm_class: ESM_RECEIPT,
  data_coding: 0,
  client_ref: mark,
  ...over,
});
const mo = (mark: string, over: Record<string, unknown> = {}) => ({
  source_addr: '13800138000',
  destination_addr: '1065719',
  esm_class: 0,
  data_coding: 8,
  client_ref: mark,
  ...over,
});

const RECEIPTS: DeliverCase[] = [
  {
    name: 'a receipt whose text is garbage, with no message id anywhere',
    body: (m) => ({ fields: receipt(m), shortMessageHex: hex('%%%garbage!!! ~~~') }),
    says: /without a message id/,
  },
  {
    name: 'a receipt of random bytes',
    body: (m) => ({ fields: receipt(m), shortMessageHex: randomBytes(120).toString('hex') }),
    says: /without a message id|unknown stat|without a state/,
  },
  { name: 'a receipt with an empty text and no TLVs', body: (m) => ({ fields: receipt(m) }), says: /without a message id/ },
  {
    name: 'a receipt whose message id has 100 characters',
    body: (m) => ({ fields: receipt(m, { receipted_message_id: 'i'.repeat(100), message_state: 2 }) }),
    says: /longer than 65/,
  },
  {
    name: 'a receipt with an id but no state at all',
    body: (m) => ({ fields: receipt(m), shortMessageHex: hex('id:abc123 sub:001 dlvrd:001') }),
    says: /without a state/,
  },
  {
    name: 'a receipt with an unknown stat',
    body: (m) => ({ fields: receipt(m), shortMessageHex: hex('id:abc124 sub:001 dlvrd:001 stat:BOGUS err:000') }),
    says: /unknown stat/,
  },
  // node-smpp drops the stray odd byte when it decodes UCS-2; the rest is read (an id no job has).
  {
    name: 'a receipt in UCS-2 of an odd number of bytes',
    body: (m) => ({ fields: receipt(m, { data_coding: 8 }), shortMessageHex: `${hex(ucs2(`id:odd-${m} stat:DELIVRD`))}41` }),
    says: /unknown message id/,
  },
  {
    name: 'a receipt in UCS-2 with half a surrogate pair',
    body: (m) => ({ fields: receipt(m, { data_coding: 8 }), shortMessageHex: `${hex(ucs2('id:abc125 stat:DELIVRD '))}d800` }),
    says: /lone surrogate/,
  },
  {
    name: 'an oversized receipt (5,000 bytes in message_payload)',
    body: (m) => ({ fields: receipt(m), messagePayloadHex: hex(`id:abc126 stat:DELIVRD text:${'x'.repeat(5000)}`) }),
    says: /oversized/,
  },
  // Well formed but matching no job: refused (the carrier sends it again, its job may yet become
  // known) for UNKNOWN_RECEIPT_MS, then dead-lettered and taken.
  {
    name: 'a well-formed receipt for a message id messaging never got',
    body: (m) => ({
      fields: receipt(m, { receipted_message_id: `nosuch-${m}`, message_state: 2 }),
      shortMessageHex: hex(`id:nosuch-${m} stat:DELIVRD err:000`),
    }),
    says: /unknown message id/,
  },
];

const REPLIES: DeliverCase[] = [
  {
    name: 'a reply in UCS-2 with half a surrogate pair',
    body: (m) => ({ fields: mo(m), shortMessageHex: `${hex(ucs2('收到'))}dc00` }),
    says: /lone surrogate/,
  },
  {
    name: 'a reply in binary (data_coding 0x04)',
    body: (m) => ({ fields: mo(m, { data_coding: 4 }), shortMessageHex: 'deadbeef00ff' }),
    says: /unsupported data_coding 0x04/,
  },
  {
    name: 'a reply in GSM 8-bit class 2 (data_coding 0xF6)',
    body: (m) => ({ fields: mo(m, { data_coding: 0xf6 }), shortMessageHex: '0102030405' }),
    says: /unsupported data_coding 0xf6/,
  },
  {
    name: 'an oversized reply (4,000 UCS-2 characters in message_payload)',
    body: (m) => ({ fields: mo(m), messagePayloadHex: hex(ucs2('好'.repeat(4000))) }),
    says: /oversized/,
  },
  {
    name: 'a reply with no sender number',
    body: (m) => ({ fields: mo(m, { source_addr: '' }), shortMessageHex: hex(ucs2('收到')) }),
    says: /sender number/,
  },
  {
    name: 'a reply from a sender that is markup',
    body: (m) => ({ fields: mo(m, { source_addr: '<script>' }), shortMessageHex: hex(ucs2('收到')) }),
    says: /sender number/,
  },
];

describe('bad deliver_sm from the SMSC at messaging (real messaging and SMSC processes)', () => {
  let procs: MessagingProcesses;
  let smsc: ServiceProcess;
  let messaging: ServiceProcess;
  let nc: NatsConnection;
  let ch: ClickHouseClient;
  let dead: Awaited<ReturnType<typeof tapDeadLetters>>;
  let smscUrl: string;
  let msgUrl: string;

  beforeAll(async () => {
    const since = new Date(Date.now() - 1000);
    procs = await startMessagingProcesses(NS, 'proof-bad-input-smsc-receipts', { UNKNOWN_RECEIPT_MS: '2500' });
    ({ smsc, messaging, nc, ch } = procs);
    ({ smscUrl, messagingUrl: msgUrl } = procs);
    dead = await tapDeadLetters(nc, 'messaging', since, MARK);
  }, 180_000);

  afterAll(async () => {
    dead?.stop();
    await procs?.stop();
    tally.write();
  });

  const deliver = async (body: unknown): Promise<string> => {
    const r = await fetch(`${smscUrl}/deliver?carrier=cmcc`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    expect(r.status).toBe(200);
    return ((await r.json()) as { id: string }).id;
  };
  /** The SMSC got a deliver_sm_resp OK for it: it will not send it again. */
  const taken = (id: string) =>
    untilValue(
      `deliver_sm ${id} to be answered OK`,
      async () => {
        const r = (await (await fetch(`${smscUrl}/deliver/${id}`)).json()) as { done: boolean; attempts: number; lastStatus?: number };
        return r.done ? r : undefined;
      },
      60_000,
    );

  /** A good job through the same binds: delivered and logged. */
  const goodJob = async (mark: string) => {
    const job: SmsJob = {
      jobId: `${mark}-good`,
      source: 'industry',
      enterpriseId: 'ent-bad-input',
      accountId: 'acc-bad-input',
      sendId: `send-${RUN}`,
      msisdn: '13800138000',
      carrier: 'cmcc',
      content: '回执测试',
      signature: '气象台',
      createdAt: Date.now(),
    };
    await jetstream(nc, { timeout: 15_000 }).publish(names.jobSubject('cmcc'), JSON.stringify(job), { msgID: job.jobId });
    return untilValue(
      `a delivered send-log row for ${job.jobId}`,
      async () => {
        const rows = await selectRows<{ status: string }>(
          ch,
          sql`SELECT status FROM ${ident(TABLE)} FINAL WHERE job_id IN ${list([job.jobId])}`.text,
        ).catch(() => []);
        return rows[0]?.status === 'delivered' ? rows[0] : undefined;
      },
      60_000,
    );
  };

  const run = async (dc: DeliverCase) => {
    const c = fresh();
    const id = await deliver(dc.body(c.mark));
    const d = await dead.get(c.mark, 60_000);
    expect(d.reason).toMatch(dc.says);
    expect(d.source.subject).toBe('smpp.cmcc.deliver_sm');
    const answer = await taken(id);
    expect(answer.lastStatus).toBe(0);
    expect(await goodJob(c.mark)).toMatchObject({ status: 'delivered' });
  };

  it.each(tally.add('SMSC delivery receipts (deliver_sm)', RECEIPTS))(
    '$name → dead-lettered with the reason and answered; a good job after it is delivered',
    run,
    90_000,
  );
  it.each(tally.add('SMSC replies (MO deliver_sm)', REPLIES))(
    '$name → dead-lettered with the reason and answered; a good job after it is delivered',
    run,
    90_000,
  );

  it(
    tally.one(
      'SMSC PDUs',
      'bytes that are no PDU (a command_length of 4 GB) → the bind is dropped, counted and bound again; a good job after it is delivered',
    ),
    async () => {
      const metric = async () =>
        (await readMetrics(`${msgUrl}/metrics`)).by('sms_bad_deliver_total', 'reason', { carrier: 'cmcc' })['undecodable PDU'] ?? 0;
      const before = await metric();
      await deliver({ rawHex: 'ffffffff00000005000000000000002a' });
      await until('the undecodable PDU to be counted', async () => (await metric()) > before, 30_000);
      expect(await goodJob(fresh().mark)).toMatchObject({ status: 'delivered' });
    },
    90_000,
  );

  it('is still up and healthy after all of it', async () => {
    expect(messaging.alive()).toBe(true);
    expect(await messaging.healthy()).toBe(true);
    expect(smsc.alive()).toBe(true);
  });
});
