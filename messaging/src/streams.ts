import { ensureStream, jetstreamManager, ms, type NatsConnection } from '@geo/infra';
import { SMS_EVENTS_STREAM, SMS_EVENTS_SUBJECTS, SMS_JOBS_STREAM, SMS_JOBS_SUBJECTS } from './contract.ts';

/** Declares SMS_JOBS (work queue of jobs) and SMS_EVENTS (statuses, replies). Idempotent. */
export async function declareMessagingStreams(nc: NatsConnection, replicas = 1): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, {
    name: SMS_JOBS_STREAM,
    subjects: [SMS_JOBS_SUBJECTS],
    num_replicas: replicas,
    max_age: ms(7 * 24 * 3600_000),
    // Nats-Msg-Id de-duplicates only inside this window; durable dedup is the producer's job.
    duplicate_window: ms(10 * 60_000),
  });
  await ensureStream(jsm, {
    name: SMS_EVENTS_STREAM,
    subjects: SMS_EVENTS_SUBJECTS,
    num_replicas: replicas,
    max_age: ms(7 * 24 * 3600_000),
    duplicate_window: ms(120_000),
  });
}
