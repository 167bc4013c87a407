import { Counter, Gauge, Registry } from 'prom-client';

/** Ingest's Prometheus counters, registered once per registry. */
export interface IngestMetrics {
  /** Location events acknowledged by JetStream. */
  published: Counter;
  publishFailed: Counter;
  /** Events produced by the simulator. */
  simEvents: Counter;
  simSubscribers: Gauge;
  simTime: Gauge;
  /** Events received by a feed, by feed (`http`, `nats`, `file`), carrier and outcome (`accepted`, `rejected`). */
  feedEvents: Counter<'feed' | 'carrier' | 'outcome'>;
  /** Rejected events by reason code (`json`, `schema`, `too_old`, `future`, `carrier_mismatch`, `too_long`). */
  deadLetters: Counter<'feed' | 'reason'>;
}

const cache = new WeakMap<Registry, IngestMetrics>();

export function ingestMetrics(registry: Registry = new Registry()): IngestMetrics {
  let m = cache.get(registry);
  if (m) return m;
  const registers = [registry];
  m = {
    published: new Counter({ name: 'ingest_events_published_total', help: 'Location events acknowledged by JetStream', registers }),
    publishFailed: new Counter({
      name: 'ingest_events_publish_failed_total',
      help: 'Location events dropped after failed publishes',
      registers,
    }),
    simEvents: new Counter({ name: 'ingest_sim_events_total', help: 'Events produced by the simulator', registers }),
    simSubscribers: new Gauge({ name: 'ingest_sim_subscribers', help: 'Simulated subscribers', registers }),
    simTime: new Gauge({ name: 'ingest_sim_time_seconds', help: 'Simulated clock, Unix seconds', registers }),
    feedEvents: new Counter({
      name: 'ingest_feed_events_total',
      help: 'Events received by external feeds',
      labelNames: ['feed', 'carrier', 'outcome'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'ingest_dead_letters_total',
      help: 'Invalid events dead-lettered, by reason',
      labelNames: ['feed', 'reason'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
