import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { CARRIERS, DEFAULT_SHARDS, locationSubject, type Carrier, type LocationEvent } from '../contract.ts';
import { LocationBatchBuilder, MAX_BATCH_EVENTS } from '../codec/location-codec.ts';
import type { IngestMetrics } from '../metrics.ts';

export interface BatchPublisherOptions {
  nc: NatsConnection;
  /** Prefix of every Nats-Msg-Id; unique per run so a restart never collides with the last one. */
  runId: string;
  shards?: number;
  /** Events per message. @default 500 */
  batchSize?: number;
  /** Publishes awaiting their ack before `ready()` holds the producer back. @default 64 */
  maxInFlight?: number;
  /** Attempts per message (same Msg-Id, so a retry is never stored twice). @default 5 */
  attempts?: number;
  metrics?: IngestMetrics;
  log?: Logger;
  /** Subject per carrier and shard. @default locationSubject (`loc.<carrier>.<shard>`); tests use their own. */
  subjectOf?: (carrier: Carrier, shard: number) => string;
  /** Message format: the binary LOCATION batch, or the JSON `LocationBatch`. @default 'binary' */
  format?: 'binary' | 'json';
}

/**
 * Packs location events into batch messages per `loc.<carrier>.<shard>` subject and publishes them
 * to JetStream pipelined: many publishes in flight, each with a Nats-Msg-Id for the duplicate
 * window. One event per message tops out near 43k/s here; hundreds per message reach ~1M/s
 * (DESIGN.md). Messages are the binary LOCATION batch (`codec/location-codec.ts`, ~60 bytes per
 * event against ~190 of JSON, and no JSON parse for consumers); `format: 'json'` writes the JSON
 * `LocationBatch` for consumers that predate it.
 */
export class BatchPublisher {
  private readonly js: JetStreamClient;
  private readonly shards: number;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly attempts: number;
  /** Per subject: the batch being filled. */
  private readonly builders: LocationBatchBuilder[];
  private readonly subjects: string[];
  private readonly json: boolean;
  private readonly inFlight = new Set<Promise<void>>();
  private seq = 0;
  published = 0;
  failed = 0;
  eventsPublished = 0;
  bytesPublished = 0;

  constructor(private readonly opts: BatchPublisherOptions) {
    this.js = jetstream(opts.nc);
    this.shards = opts.shards ?? DEFAULT_SHARDS;
    this.batchSize = Math.min(opts.batchSize ?? 500, MAX_BATCH_EVENTS);
    this.maxInFlight = opts.maxInFlight ?? 64;
    this.attempts = opts.attempts ?? 5;
    this.json = opts.format === 'json';
    const subjects = CARRIERS.length * this.shards;
    this.builders = Array.from({ length: subjects }, () => new LocationBatchBuilder(this.batchSize));
    const subjectOf = opts.subjectOf ?? locationSubject;
    this.subjects = CARRIERS.flatMap((c) => Array.from({ length: this.shards }, (_, s) => subjectOf(c, s)));
  }

  /** Adds one (validated) event; sends the subject's batch when it is full. */
  add(carrier: number, shard: number, e: LocationEvent): void {
    const k = carrier * this.shards + shard;
    const b = this.builders[k];
    b.add(e);
    if (b.full) this.send(k);
  }

  /** Adds one event given as its JSON text (the simulator's plain sink interface). */
  push(carrier: number, shard: number, json: string): void {
    this.add(carrier, shard, JSON.parse(json) as LocationEvent);
  }

  /** The simulator's fast path: an event by its coded fields (see `LocationBatchBuilder.addFields`). */
  event(
    carrier: number,
    shard: number,
    msisdn: number,
    ts: number,
    cell: string,
    lat: number,
    lng: number,
    kind: number,
    gender: number,
    age: number,
    home: number,
    lang = 0,
  ): void {
    const k = carrier * this.shards + shard;
    const b = this.builders[k];
    b.addFields(msisdn, carrier, ts, cell, lat, lng, kind, gender, age, home, lang);
    if (b.full) this.send(k);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  /** Resolves when fewer than `maxInFlight` publishes await their acks (backpressure). */
  async ready(): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
  }

  /** Sends every partly filled batch without waiting (a slow clock must not hold events back). */
  sendPartial(): void {
    for (let k = 0; k < this.builders.length; k++) if (this.builders[k].count > 0) this.send(k);
  }

  /** Sends every partly filled batch and waits for all acks. */
  async flush(): Promise<void> {
    this.sendPartial();
    while (this.inFlight.size) await Promise.all(this.inFlight);
  }

  private send(k: number): void {
    const b = this.builders[k];
    const count = b.count;
    const payload = this.json ? Buffer.from(JSON.stringify({ v: 1, events: b.events() })) : b.encode();
    if (this.json) b.reset();
    this.bytesPublished += payload.length;
    const msgID = `${this.opts.runId}-${++this.seq}`;
    const p: Promise<void> = this.publish(this.subjects[k], payload, msgID, count).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async publish(subject: string, payload: Uint8Array, msgID: string, count: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.js.publish(subject, payload, { msgID, timeout: 10_000 });
        this.published++;
        this.eventsPublished += count;
        this.opts.metrics?.published.inc(count);
        return;
      } catch (err) {
        if (attempt >= this.attempts) {
          this.failed += count;
          this.opts.metrics?.publishFailed.inc(count);
          this.opts.log?.error({ err, subject, msgID, events: count }, 'could not publish a batch of location events; dropped');
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }
}
