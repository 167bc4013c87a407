import { connectNats, type NatsConnection } from '@geo/infra';
import { smsStatusSubject, type DeliveryStatus, type DeliveryStatusBatch } from '@geo/messaging';
import { untilValue } from '@geo/infra/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AlertBus } from './alert-bus.ts';

/**
 * The console's progress hears delivery statuses as messaging publishes them (#22): one message per
 * status, or a window's statuses as one DeliveryStatusBatch (STATUS_EVENT_BATCH_MS > 0). Real NATS.
 */
describe('AlertBus reads delivery statuses in both forms', () => {
  let nc: NatsConnection;
  let bus: AlertBus;
  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'alert-bus-int');
    bus = await AlertBus.open(await connectNats(inject('natsUrl'), 'alert-bus-int-bus'), { bucket: `alert_bus_int_${process.pid}` });
  });
  afterAll(async () => {
    await bus?.close();
    await nc?.close();
  });

  const status = (taskId: string, i: number, carrier: DeliveryStatus['carrier'], state: DeliveryStatus['state']): DeliveryStatus => ({
    jobId: `${taskId}:${i}`,
    sendId: taskId,
    enterpriseId: 'demo-enterprise',
    accountId: 'demo-admin',
    msisdn: `1380013${String(7100 + i)}`,
    carrier,
    state,
    segments: 1,
    at: Date.now(),
  });

  it('counts single statuses and batched ones alike, and ignores other sends and bodies that are not JSON', async () => {
    const taskId = `bd-bus-${process.pid}`;
    nc.publish(smsStatusSubject('cmcc'), JSON.stringify(status(taskId, 0, 'cmcc', 'delivered')));
    const batch: DeliveryStatusBatch = {
      v: 1,
      statuses: [
        status(taskId, 1, 'cmcc', 'delivered'),
        status(taskId, 2, 'cmcc', 'failed'),
        status('industry-send-1', 3, 'cmcc', 'delivered'),
        status(taskId, 4, 'cmcc', 'submitted'),
      ],
    };
    nc.publish(smsStatusSubject('cmcc'), 'not json {');
    nc.publish(smsStatusSubject('cmcc'), JSON.stringify(batch));
    nc.publish(smsStatusSubject('ctcc'), JSON.stringify({ v: 1, statuses: [status(taskId, 5, 'ctcc', 'delivered')] }));
    await nc.flush();
    const view = await untilValue(
      'six statuses heard',
      () => {
        const v = bus.progress(taskId).view();
        return v.carriers.cmcc.delivered + v.carriers.cmcc.failed + v.carriers.ctcc.delivered === 4 ? v : undefined;
      },
      10_000,
      50,
    );
    expect(view.carriers.cmcc).toMatchObject({ delivered: 2, failed: 1 });
    expect(view.carriers.ctcc).toMatchObject({ delivered: 1, failed: 0 });
    expect(bus.progress('industry-send-1').view().carriers.cmcc.delivered).toBe(0);
  });
});
