import { deadLetterWriter, type DeadLetterWriter, type NatsConnection } from '@geo/infra';
import type { Logger } from 'pino';
import { CARRIERS, shardOf, type Carrier } from '../contract.ts';
import type { IngestMetrics } from '../metrics.ts';
import type { BatchPublisher } from '../publish/batch-publisher.ts';
import { validateEvent, validateLine, type RejectCode, type Verdict } from './validate-event.ts';

export type FeedName = 'http' | 'nats' | 'file';

export interface FeedResult {
  accepted: number;
  rejected: number;
  /** The first rejections (line number from 1, code, reason). */
  errors: { line: number; code: RejectCode; reason: string }[];
}

export interface FeedPipelineOptions {
  nc: NatsConnection;
  publisher: BatchPublisher;
  shards: number;
  metrics: IngestMetrics;
  log: Logger;
  now?: () => number;
  /** Dead letters go to `dlq.<service>.feed-<feed>`. @default 'ingest' */
  service?: string;
}

const MAX_ERRORS_REPORTED = 100;

/**
 * The path every external event takes: validate → publish (batched, into LOCATION) or
 * dead-letter with the reason. A bad event never stops the good ones around it.
 */
export class FeedPipeline {
  private readonly deadLetter: DeadLetterWriter;
  private readonly now: () => number;
  private readonly carrierIndex = new Map(CARRIERS.map((c, i) => [c, i]));

  constructor(private readonly opts: FeedPipelineOptions) {
    this.deadLetter = deadLetterWriter(opts.nc, opts.service ?? 'ingest');
    this.now = opts.now ?? Date.now;
  }

  /** Events accepted and rejected since start, over all feeds. */
  readonly totals = { accepted: 0, rejected: 0 };

  /** Starts a result for one request, file or message. */
  begin(feed: FeedName, source: string, carrier?: Carrier): FeedBatch {
    return new FeedBatch(this, feed, source, carrier);
  }

  /** @internal */
  handle(b: FeedBatch, verdict: Verdict, raw: string | (() => string), lineNo: number): void {
    const m = this.opts.metrics;
    if (verdict.ok) {
      const e = verdict.event;
      this.opts.publisher.add(this.carrierIndex.get(e.carrier)!, shardOf(e.msisdn, this.opts.shards), e);
      b.result.accepted++;
      this.totals.accepted++;
      m.feedEvents.inc({ feed: b.feed, carrier: e.carrier, outcome: 'accepted' });
      return;
    }
    b.result.rejected++;
    this.totals.rejected++;
    if (b.result.errors.length < MAX_ERRORS_REPORTED) b.result.errors.push({ line: lineNo, code: verdict.code, reason: verdict.reason });
    m.feedEvents.inc({ feed: b.feed, carrier: b.carrier ?? 'unknown', outcome: 'rejected' });
    m.deadLetters.inc({ feed: b.feed, reason: verdict.code });
    const text = typeof raw === 'string' ? raw : raw();
    b.pendingDead.push(
      this.deadLetter(
        `${verdict.code}: ${verdict.reason}`,
        { stream: `feed-${b.feed}`, subject: `${b.source}#${lineNo}` },
        Buffer.from(text),
      ).catch((err: unknown) => {
        this.opts.log.error({ err, feed: b.feed, source: b.source }, 'could not dead-letter a rejected event');
      }),
    );
  }

  /** @internal */
  async finish(b: FeedBatch): Promise<FeedResult> {
    await Promise.all(b.pendingDead);
    await this.opts.publisher.flush();
    return b.result;
  }

  /** @internal */
  ready(): Promise<void> {
    return this.opts.publisher.ready();
  }

  get nowMs(): number {
    return this.now();
  }
}

/** One unit of feed input (a request, a message, a file): lines in, a result out. */
export class FeedBatch {
  readonly result: FeedResult = { accepted: 0, rejected: 0, errors: [] };
  readonly pendingDead: Promise<void>[] = [];
  private lineNo = 0;

  constructor(
    private readonly pipeline: FeedPipeline,
    readonly feed: FeedName,
    readonly source: string,
    readonly carrier?: Carrier,
  ) {}

  /** One NDJSON line (blank lines are skipped). */
  line(text: string): void {
    this.lineNo++;
    const t = text.trim();
    if (!t) return;
    this.pipeline.handle(this, validateLine(t, this.pipeline.nowMs, this.carrier), t, this.lineNo);
  }

  /** One already-parsed record (a CSV row). */
  value(value: unknown, raw: string): void {
    this.lineNo++;
    this.pipeline.handle(this, validateEvent(value, this.pipeline.nowMs, this.carrier), raw, this.lineNo);
  }

  /** Resolves when the publisher can take more (call between chunks of a long input). */
  ready(): Promise<void> {
    return this.pipeline.ready();
  }

  /** Waits for the dead letters and the publisher's acks of everything accepted. */
  finish(): Promise<FeedResult> {
    return this.pipeline.finish(this);
  }
}
