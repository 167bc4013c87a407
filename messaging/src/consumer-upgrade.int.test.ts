import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { until } from '@geo/infra/testing';
import type { MessagingService } from './service.ts';
import { ServiceKit } from './testing/service-kit.ts';

/**
 * Upgrading from the single `messaging` durable to one durable per carrier (issue 19): the new
 * consumers start at the old one's ack floor, so jobs the earlier version finished are not handed
 * out again (the stream keeps 7 days of them) and those it had not are.
 */

const kit = new ServiceKit('cu', 'messaging-consumer-upgrade-test', () => ({ ACK_WAIT_MS: '5000' }));
let svc: MessagingService | undefined;

beforeAll(async () => {
  await kit.startSmscs({ behaviour: { receiptDelayMs: 20 } });
  await kit.open();
});

afterAll(async () => {
  await svc?.stop();
  await kit.close();
});

describe('the per-carrier consumers take over from the single durable of earlier versions', () => {
  it('sends only the jobs the old durable had not acked', async () => {
    const jobs = Array.from({ length: 6 }, (_, i) =>
      kit.job({ sendId: 'upgrade', msisdn: `1380000${String(i).padStart(4, '0')}`, content: `通知 ${i}` }),
    );
    // One after the other: the old durable below takes the first four in this order.
    for (const j of jobs) await kit.publish([j]);
    // The earlier version: one durable over all carriers, which finished the first four jobs.
    const jsm = await jetstreamManager(kit.nc);
    await jsm.consumers.add(kit.names.jobsStream, { durable_name: kit.names.consumer, ack_policy: AckPolicy.Explicit });
    const old = await jetstream(kit.nc).consumers.get(kit.names.jobsStream, kit.names.consumer);
    for (let i = 0; i < 4; i++) {
      const m = await old.next({ expires: 5000 });
      await m!.ackAck();
    }
    svc = await kit.startService();
    const smsc = kit.smscs.cmcc;
    await until('the two jobs the old durable left', () => smsc.messages.length >= 2, 20_000);
    await new Promise((r) => setTimeout(r, 1500)); // time for anything more to arrive
    expect(smsc.messages.map((m) => m.destination).sort()).toEqual(jobs.slice(4).map((j) => j.msisdn));
  }, 60_000);
});
