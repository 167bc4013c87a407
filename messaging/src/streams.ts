import { declareTopology, ms, type NatsConnection, type TopologyPart } from '@geo/infra';
import { messagingNames, type MessagingNames } from './names.ts';

/**
 * messaging's part of the NATS topology: SMS_JOBS (work queue of jobs), SMS_EVENTS (statuses,
 * replies) and its buckets (reply extensions, per-number limits, bind-slot leases).
 */
export function messagingTopology(names: MessagingNames = messagingNames()): TopologyPart {
  return {
    owner: 'messaging',
    streams: [
      {
        name: names.jobsStream,
        subjects: [names.jobsSubjects],
        max_age: ms(7 * 24 * 3600_000),
        // Nats-Msg-Id de-duplicates only inside this window; durable dedup is the producer's job.
        duplicate_window: ms(10 * 60_000),
      },
      {
        name: names.eventsStream,
        subjects: names.eventsSubjects,
        max_age: ms(7 * 24 * 3600_000),
        duplicate_window: ms(120_000),
      },
    ],
    buckets: [
      { bucket: names.extensionsBucket },
      // A number's counts matter for a day (the widest limit window) plus margin.
      { bucket: names.limitsBucket, ttl: 25 * 3_600_000 },
      { bucket: names.bindLeasesBucket },
    ],
  };
}

/** Declares SMS_JOBS and SMS_EVENTS from {@link messagingTopology}. Idempotent. */
export async function declareMessagingStreams(nc: NatsConnection, replicas = 1, names: MessagingNames = messagingNames()): Promise<void> {
  const { streams } = messagingTopology(names);
  await declareTopology(nc, [{ owner: 'messaging', streams, buckets: [] }], replicas);
}
