import { ensureStream, jetstreamManager, ms, type NatsConnection } from '@geo/infra';
import { messagingNames, type MessagingNames } from './names.ts';

/** Declares SMS_JOBS (work queue of jobs) and SMS_EVENTS (statuses, replies). Idempotent. */
export async function declareMessagingStreams(nc: NatsConnection, replicas = 1, names: MessagingNames = messagingNames()): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, {
    name: names.jobsStream,
    subjects: [names.jobsSubjects],
    num_replicas: replicas,
    max_age: ms(7 * 24 * 3600_000),
    // Nats-Msg-Id de-duplicates only inside this window; durable dedup is the producer's job.
    duplicate_window: ms(10 * 60_000),
  });
  await ensureStream(jsm, {
    name: names.eventsStream,
    subjects: names.eventsSubjects,
    num_replicas: replicas,
    max_age: ms(7 * 24 * 3600_000),
    duplicate_window: ms(120_000),
  });
}
