import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { MessagingService } from './service.ts';
import { ExtensionRegistry } from './replies/extension-numbers.ts';
import { composeText } from './text/compose.ts';
import { ServiceKit } from './testing/service-kit.ts';
import { until } from '@geo/infra/testing';

const kit = new ServiceKit('t', 'messaging-test');
const { names, ns, statuses, replies } = kit;
const job = kit.job.bind(kit);
const publish = kit.publish.bind(kit);
const rows = kit.rows.bind(kit);
const finalRows = kit.finalRows.bind(kit);
let svc: MessagingService | undefined;

beforeAll(async () => {
  // Plain sequential message ids, the same on the three SMSCs (invariant 8), and no vendor TLV
  // (messaging's default): jobs are told apart by number here.
  await kit.startSmscs();
  await kit.open();
  svc = await kit.startService();
});

afterAll(async () => {
  await svc?.stop();
  await kit.close();
});

describe('messaging service (real NATS, ClickHouse and SMPP over TCP)', () => {
  it('routes by number, sends each encoding whole, and logs the final status with segments in ClickHouse', async () => {
    const jobs = [
      job({ msisdn: '13900000001', content: 'Storm warning: stay indoors.' }),
      job({ msisdn: '18600000002', carrier: 'cucc', content: '中'.repeat(100) }),
      job({ msisdn: '18900000003', carrier: 'ctcc', content: '台风来了 😀👍🏽 请注意安全' + '！'.repeat(60) }),
      // Published on the wrong carrier's subject: routing by 号段 wins.
      job({ msisdn: '13300000004', carrier: 'cmcc', content: 'routed to telecom', task: 1 }),
    ];
    await publish(jobs);
    const ids = jobs.map((j) => j.jobId);
    await until('final statuses in ClickHouse', async () => (await finalRows(ids)).length === jobs.length, 40_000);
    const byId = new Map((await rows(ids)).map((r) => [r.job_id, r]));
    for (const j of jobs) {
      const text = composeText(j.signature, j.content);
      const smsc = Object.values(kit.smscs).find((s) => s.messagesTo(j.msisdn).length > 0)!;
      const m = smsc.messagesTo(j.msisdn)[0]!;
      expect(m.clientRef).toBeUndefined(); // no vendor TLV unless a connector is set to send it
      expect(m.text).toBe(text);
      expect(byId.get(j.jobId)).toMatchObject({ status: 'delivered', segments: m.parts, carrier: smsc.carrier });
      expect(byId.get(j.jobId)!.message_id).toBe(m.messageIds[0]);
    }
    expect(byId.get(jobs[3]!.jobId)).toMatchObject({ carrier: 'ctcc', task: 1 });
    expect(byId.get(jobs[1]!.jobId)!.segments).toBe(2); // 【气象台】 + 100 Chinese characters = 105 → 2 × 67
    await until('live statuses', () => ids.every((id) => statuses.some((s) => s.jobId === id && s.state === 'delivered')), 40_000);
    expect(
      statuses
        .filter((s) => ids.includes(s.jobId))
        .map((s) => s.state)
        .sort(),
    ).toEqual([...Array(4).fill('delivered'), ...Array(4).fill('submitted')]);
  });

  it('refuses an unroutable number or an empty text with a reason, and records carrier failures with their code', async () => {
    kit.smscs.cmcc.configure({ fates: { '13500000005': 0x0b, '13500000006': 'UNDELIV', '13500000007': 'EXPIRED' } });
    const jobs = [
      job({ msisdn: '14000000000' }),
      job({ content: '   ' }),
      job({ msisdn: '13500000005' }),
      job({ msisdn: '13500000006' }),
      job({ msisdn: '13500000007' }),
    ];
    await publish(jobs);
    const ids = jobs.map((j) => j.jobId);
    await until('final statuses', async () => (await finalRows(ids)).length === jobs.length, 40_000);
    const byId = new Map((await rows(ids)).map((r) => [r.job_id, r]));
    expect(byId.get(ids[0]!)).toMatchObject({ status: 'rejected', code: 'UNKNOWN_PREFIX' });
    expect(byId.get(ids[1]!)).toMatchObject({ status: 'rejected', code: 'EMPTY' });
    expect(byId.get(ids[2]!)).toMatchObject({ status: 'failed', code: 'ESME_RINVDSTADR' });
    expect(byId.get(ids[3]!)).toMatchObject({ status: 'failed', code: 'UNDELIV:001' });
    expect(byId.get(ids[4]!)).toMatchObject({ status: 'expired' });
    await until('the rejection event', () => statuses.some((s) => s.jobId === ids[0] && s.state === 'rejected'), 40_000);
    expect(statuses.find((s) => s.jobId === ids[0])!.reason).toMatch(/号段/);
  });

  it('matches a reply to its send by extension, publishes it, and forwards it by SMS', async () => {
    const registry = await ExtensionRegistry.open(kit.nc, names.extensionsBucket);
    const entry = await registry.allocate({
      enterpriseId: 'ent2',
      accountId: 'acc2',
      sendId: 'send-mo',
      forwardTo: '13700000009',
      signature: '物业',
    });
    expect(await registry.allocate({ enterpriseId: 'ent2', accountId: 'acc2', sendId: 'send-mo' })).toMatchObject({
      extension: entry.extension,
    });
    kit.smscs.cmcc.configure({ moRate: 1, moDelayMs: 0, moTexts: ['好的，收到'] });
    const j = job({
      enterpriseId: 'ent2',
      accountId: 'acc2',
      sendId: 'send-mo',
      msisdn: '13800000008',
      extension: entry.extension,
      forwardTo: '13700000009',
    });
    await publish([j]);
    await until('the reply event', () => replies.some((r) => r.sendId === 'send-mo'), 40_000);
    kit.smscs.cmcc.configure({ moRate: 0 });
    const reply = replies.find((r) => r.sendId === 'send-mo')!;
    expect(reply).toMatchObject({
      enterpriseId: 'ent2',
      accountId: 'acc2',
      from: '13800000008',
      to: `106571${entry.extension}`,
      text: '好的，收到',
      extension: entry.extension,
    });
    await until('the forwarded SMS', () => kit.smscs.cmcc.messages.some((m) => m.destination === '13700000009'), 40_000);
    expect(kit.smscs.cmcc.messages.find((m) => m.destination === '13700000009')!.text).toBe('【物业】13800000008回复：好的，收到');
    expect(reply.forwardedJobId).toBeDefined();
  });

  it('never sends a job twice when NATS redelivers it or a producer publishes it again', async () => {
    const j = job({ msisdn: '13800000010' });
    await publish([j]);
    await until('first send', async () => (await finalRows([j.jobId])).length === 1, 40_000);
    // Outside the duplicate window: a fresh Msg-Id, same job id.
    await jetstream(kit.nc).publish(names.jobSubject('cmcc'), JSON.stringify(j), { msgID: `${j.jobId}-again` });
    await until('the duplicate to be seen', () => svc!.sender.counts.duplicates > 0, 40_000);
    expect(kit.smscs.cmcc.parts.filter((p) => p.destination === j.msisdn)).toHaveLength(1);
  });

  it('takes a batch of jobs in one message and sends each once, also when the batch comes again; dead-letters a malformed batch whole', async () => {
    const batch = Array.from({ length: 30 }, (_, i) =>
      job({ msisdn: `1391000${String(i).padStart(4, '0')}`, sendId: 'batch1', source: 'alert' }),
    );
    const ids = batch.map((j) => j.jobId);
    const js = jetstream(kit.nc);
    // The fields the jobs share once in `common` (as alerting writes them), each job's own fields beside.
    const { content, signature, enterpriseId, accountId, sendId, source, createdAt } = batch[0]!;
    const compact = {
      v: 1,
      common: { content, signature, enterpriseId, accountId, sendId, source, createdAt },
      jobs: batch.map(({ jobId, msisdn, carrier }) => ({ jobId, msisdn, carrier })),
    };
    await js.publish(names.jobSubject('cmcc'), JSON.stringify(compact), { msgID: `${ns}-batch1` });
    await until('every job of the batch final', async () => (await finalRows(ids)).length === ids.length, 40_000);
    for (const r of await finalRows(ids)) expect(r.status, r.job_id).toBe('delivered');
    // The same batch again (a producer outside the duplicate window) and one of its jobs alone: nothing is sent twice.
    const dup0 = svc!.sender.counts.duplicates;
    await js.publish(names.jobSubject('cmcc'), JSON.stringify({ v: 1, jobs: batch }), { msgID: `${ns}-batch1-again` });
    await publish([batch[0]!]);
    await until('the duplicates to be seen', () => svc!.sender.counts.duplicates - dup0 >= ids.length + 1, 40_000);
    for (const j of batch)
      expect(
        kit.smscs.cmcc.parts.filter((p) => p.destination === j.msisdn),
        j.msisdn,
      ).toHaveLength(1);
    // One bad job in a batch: the batch is dead-lettered with the reason, and none of it is sent.
    const dead: string[] = [];
    const sub = kit.nc.subscribe('dlq.messaging.>', { callback: (_e, m) => void dead.push(new TextDecoder().decode(m.data)) });
    const bad = [job({ msisdn: '13900009998' }), { ...job({ msisdn: '13900009999' }), msisdn: 'not-a-number' }];
    await js.publish(names.jobSubject('cmcc'), JSON.stringify({ v: 1, jobs: bad }), { msgID: `${ns}-bad-batch` });
    await until('the bad batch dead-lettered', () => dead.some((d) => d.includes('SMS job batch contract')), 40_000);
    sub.unsubscribe();
    expect(dead.find((d) => d.includes('SMS job batch contract'))).toMatch(/jobs\.1(\.|: )msisdn/);
    expect(kit.smscs.cmcc.messagesTo('13900009998')).toHaveLength(0);
  });

  it('loses and duplicates nothing when messaging is killed with SIGKILL mid-run and restarted', async () => {
    await svc!.stop();
    svc = undefined;
    for (const s of Object.values(kit.smscs)) s.configure({ latencyMs: 2, receiptDelayMs: 300, fates: {} });
    const jobs = Array.from({ length: 400 }, (_, i) =>
      job({
        msisdn: `1${['38', '86', '89'][i % 3]}${String(50_000_000 + i).padStart(8, '0')}`,
        carrier: (['cmcc', 'cucc', 'ctcc'] as const)[i % 3],
        content: i % 5 === 0 ? '长'.repeat(100) : `通知 ${i}`,
      }),
    );
    const { sent, final, atKill } = await kit.killDrill({
      gateways: Object.values(kit.smscs),
      jobs,
      env: { SMSC_RATE_CMCC: '150', SMSC_RATE_CUCC: '150', SMSC_RATE_CTCC: '150', UNCERTAIN_RESOLVE_MS: '20000' },
      killAfter: 120,
    });
    const ids = jobs.map((j) => j.jobId);
    const partsOf = new Map(final.map((r) => [r.job_id, r.segments]));
    // No duplicate: no part of any job reached the SMSC twice. (A multi-part message cut by the kill
    // between its parts keeps only the parts that went: they cannot be told apart from sent ones.)
    for (const [id, n] of sent) expect(n, id).toBeLessThanOrEqual(partsOf.get(id) ?? n);
    // No loss: every job reached the SMSC and ended delivered. A job claimed before the kill with
    // no receipt for its number after UNCERTAIN_RESOLVE_MS was sent again (UNCERTAIN_POLICY=resubmit);
    // one whose receipt came (no TLV: found by carrier and number) was reconciled by it, not sent again.
    for (const r of final) expect(r.status, `${r.job_id} ${r.code}`).toBe('delivered');
    for (const id of ids) expect(sent.has(id), id).toBe(true);
    expect(atKill).toBeGreaterThan(0);
  }, 180_000);
});
