import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Carrier, FEED_SUBJECTS } from '../contract.ts';
import type { FeedPipeline } from './feed-pipeline.ts';

/**
 * The NATS feed: producers publish NDJSON (one or more events per message) to
 * `ingest.feed.<carrier>`; a request gets the FeedResult as its reply. Who may publish there is
 * NATS's account permissions' business. Instances share the load in one queue group.
 */
export function startNatsFeed(nc: NatsConnection, pipeline: FeedPipeline, log: Logger, subjects = FEED_SUBJECTS): Subscription {
  const sub = nc.subscribe(subjects, { queue: 'ingest-feed' });
  void (async () => {
    for await (const msg of sub) {
      const token = msg.subject.split('.').at(-1)!;
      const carrier = Carrier.safeParse(token);
      try {
        const batch = pipeline.begin('nats', msg.subject, carrier.success ? carrier.data : undefined);
        if (!carrier.success) {
          // An unknown carrier in the subject: every line is refused, with the reason, not dropped.
          for (const line of msg.string().split('\n')) if (line.trim()) batch.value({ carrier: token }, line);
        } else {
          for (const line of msg.string().split('\n')) batch.line(line);
        }
        const result = await batch.finish();
        if (msg.reply) msg.respond(JSON.stringify(result));
      } catch (err) {
        log.error({ err, subject: msg.subject }, 'nats feed message failed');
        if (msg.reply) msg.respond(JSON.stringify({ error: (err as Error).message }));
      }
    }
  })();
  return sub;
}
