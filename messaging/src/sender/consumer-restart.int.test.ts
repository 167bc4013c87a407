import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers, type Subscription } from '@nats-io/nats-core';
import { ensureConsumer, jetstreamManager, ms } from '@geo/infra';
import { until } from '@geo/infra/testing';
import type { MessagingService } from '../service.ts';
import { ServiceKit } from '../testing/service-kit.ts';

/**
 * A carrier's jobs must keep being taken while this instance holds a bind of it, whatever happens to
 * its consumer (#19: after a rebind in the NATS cluster drill, `SMS_JOBS/messaging-ctcc` kept 5 jobs
 * unacked with no pull waiting for 180 s; the sender had logged "no longer taking the carrier's
 * jobs" and never "taking" again). Both ways are brought about for real on the int nats-server.
 */
const kit = new ServiceKit('cr', 'messaging-consumer-restart');
let svc: MessagingService;
let pulls: Subscription;
let pullInbox: string | undefined;
const durable = `${kit.names.consumer}-cmcc`;

beforeAll(async () => {
  await kit.startSmscs();
  await kit.open();
  // The pull requests of cmcc's durable, as the server sees them: their reply subject is the
  // consume iterator's inbox.
  pulls = kit.nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${kit.names.jobsStream}.${durable}`, {
    callback: (_err, m) => {
      if (m.reply) pullInbox = m.reply;
    },
  });
  svc = await kit.startService();
}, 60_000);
afterAll(async () => {
  pulls?.unsubscribe();
  await svc?.stop();
  await kit.close();
});

/** Publishes one cmcc job and waits until the gateway has it and its outcome is logged. */
async function sent(msisdn: string, timeoutMs: number): Promise<void> {
  const job = kit.job({ msisdn, carrier: 'cmcc' });
  await kit.publish([job]);
  await until(
    `the job to ${msisdn} sent`,
    async () => kit.smscs.cmcc.messagesTo(msisdn).length === 1 && (await kit.finalRows([job.jobId])).length === 1,
    timeoutMs,
    200,
  ).catch(async (err: Error) => {
    const ci = await (await jetstreamManager(kit.nc)).consumers.info(kit.names.jobsStream, durable);
    throw new Error(
      `${err.message}; ${durable}: ${ci.num_pending} pending, ${ci.num_ack_pending} unacked, ${ci.num_waiting} pulls waiting`,
    );
  });
}

async function restarts(reason: string): Promise<number> {
  const text = await svc.sender['c'].o.registry!.metrics();
  const m = new RegExp(`^sms_consumer_restarts_total\\{[^}]*consumer="${durable}",reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe("a carrier's consumer that goes away while the carrier is taken", () => {
  it('is opened again when nats.js ends its iterator (a 400 to its pull): jobs published afterwards are sent', async () => {
    await sent('13900000001', 20_000);
    await until('a pull of cmcc seen', () => pullInbox !== undefined, 10_000);
    // The answer nats-server gives a pull it cannot take: nats.js ends the iterator with it, for good.
    kit.nc.publish(pullInbox!, new Uint8Array(), { headers: headers(400, 'Bad Request') });
    await new Promise((r) => setTimeout(r, 500));
    await sent('13900000002', 20_000);
    expect(await restarts('failed')).toBeGreaterThanOrEqual(1);
    expect(svc.sender.activeCarriers()).toContain('cmcc');
  }, 60_000);

  it('is taken again after a rebind whose consumers.get failed (the durable unreadable while a cluster elects its leader)', async () => {
    const jsm = await jetstreamManager(kit.nc);
    const config = (await jsm.consumers.info(kit.names.jobsStream, durable)).config;
    // The carrier's last bind lost: no longer taken. Its durable is unreadable when a bind is won back.
    await svc.sender.pause('cmcc');
    await jsm.consumers.delete(kit.names.jobsStream, durable);
    await svc.sender.resume('cmcc');
    // The carrier's second bind won back too: resume again (it was a no-op that left nothing consuming).
    await svc.sender.resume('cmcc');
    await new Promise((r) => setTimeout(r, 1_000));
    await ensureConsumer(jsm, kit.names.jobsStream, {
      durable_name: durable,
      filter_subject: config.filter_subject,
      ack_wait: config.ack_wait ?? ms(4000),
      max_deliver: -1,
      max_ack_pending: config.max_ack_pending,
    });
    await sent('13900000003', 30_000);
    expect(svc.sender.activeCarriers()).toContain('cmcc');
  }, 60_000);
});
