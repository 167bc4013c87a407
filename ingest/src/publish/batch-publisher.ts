import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { CARRIERS, DEFAULT_SHARDS, locationSubject, type Carrier } from '../contract.ts';
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
}

const HEAD = '{"v":1,"events":[';
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * Packs location events (already JSON) into `LocationBatch` messages per `loc.<carrier>.<shard>`
 * subject and publishes them to JetStream pipelined: many publishes in flight, each with a
 * Nats-Msg-Id for the duplicate window. One event per message tops out near 43k/s here; hundreds
 * per message reach ~1M/s (DESIGN.md).
 */
export class BatchPublisher {
  private readonly js: JetStreamClient;
  private readonly shards: number;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly attempts: number;
  /** Per subject: the message being filled (JSON bytes), its length and event count. */
  private readonly buffers: (Buffer | undefined)[];
  private readonly lengths: Int32Array;
  private readonly counts: Int32Array;
  private readonly capacity: number;
  private readonly subjects: string[];
  private readonly inFlight = new Set<Promise<void>>();
  private seq = 0;
  published = 0;
  failed = 0;
  eventsPublished = 0;

  constructor(private readonly opts: BatchPublisherOptions) {
    this.js = jetstream(opts.nc);
    this.shards = opts.shards ?? DEFAULT_SHARDS;
    this.batchSize = opts.batchSize ?? 500;
    this.maxInFlight = opts.maxInFlight ?? 64;
    this.attempts = opts.attempts ?? 5;
    const subjects = CARRIERS.length * this.shards;
    this.buffers = new Array(subjects).fill(undefined);
    this.lengths = new Int32Array(subjects);
    this.counts = new Int32Array(subjects);
    this.capacity = this.batchSize * 320 + 16 * 1024;
    const subjectOf = opts.subjectOf ?? locationSubject;
    this.subjects = CARRIERS.flatMap((c) => Array.from({ length: this.shards }, (_, s) => subjectOf(c, s)));
  }

  /** Adds one event (its JSON text); sends the subject's batch when it is full. */
  push(carrier: number, shard: number, json: string): void {
    const k = carrier * this.shards + shard;
    // Events are written straight into the message's bytes: no join of strings, no second encode.
    if (this.counts[k] > 0 && this.capacity - this.lengths[k] < json.length * 3 + 4) this.send(k);
    let buf = this.buffers[k];
    let pos = this.lengths[k];
    if (!buf || this.counts[k] === 0) {
      this.buffers[k] = buf = Buffer.allocUnsafe(Math.max(this.capacity, json.length * 3 + 64));
      pos = buf.write(HEAD, 0, 'latin1');
    } else {
      buf[pos++] = COMMA;
    }
    this.lengths[k] = pos + buf.write(json, pos, 'utf8');
    if (++this.counts[k] >= this.batchSize) this.send(k);
  }

  /** Where the next event's bytes go in the buffer `open` returned. */
  at = 0;
  private opened = 0;

  /** The fast path of EventSink: hands out the subject's message buffer with room for `maxBytes`. */
  open(carrier: number, shard: number, maxBytes: number): Uint8Array {
    const k = carrier * this.shards + shard;
    if (this.counts[k] > 0 && this.capacity - this.lengths[k] < maxBytes + 4) this.send(k);
    let buf = this.buffers[k];
    let pos = this.lengths[k];
    if (!buf || this.counts[k] === 0) {
      this.buffers[k] = buf = Buffer.allocUnsafe(Math.max(this.capacity, maxBytes + 64));
      pos = buf.write(HEAD, 0, 'latin1');
    } else {
      buf[pos++] = COMMA;
    }
    this.opened = k;
    this.at = pos;
    return buf;
  }

  /** Ends the event written after `open`, at byte `end`. */
  close(end: number): void {
    const k = this.opened;
    this.lengths[k] = end;
    if (++this.counts[k] >= this.batchSize) this.send(k);
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
    for (let k = 0; k < this.buffers.length; k++) if (this.counts[k] > 0) this.send(k);
  }

  /** Sends every partly filled batch and waits for all acks. */
  async flush(): Promise<void> {
    this.sendPartial();
    while (this.inFlight.size) await Promise.all(this.inFlight);
  }

  private send(k: number): void {
    const buf = this.buffers[k]!;
    const count = this.counts[k];
    let pos = this.lengths[k];
    buf[pos++] = CLOSE_BRACKET;
    buf[pos++] = CLOSE_BRACE;
    // The buffer now belongs to this message; the subject's next event starts a new one.
    this.buffers[k] = undefined;
    this.counts[k] = 0;
    this.lengths[k] = 0;
    const payload = buf.subarray(0, pos);
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
