import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { connectNats, type NatsConnection } from '@geo/infra';
import { startNatsServer, type RunningNats } from '@geo/infra/testing';
import { encodeLocationBatch, locationSubject, shardOf, type Carrier, type LocationEvent } from '@geo/ingest';
import { SMS_JOBS_STREAM, smsJobsIn, type SmsJob } from '@geo/messaging';
import type { AlertTaskSpecInput } from '../contract.ts';
import { shanghaiDate } from '../rules/shanghai-time.ts';
import { runEngine, type RunEngineOptions, type RunningEngine } from '../engine/run-engine.ts';

/** Helpers shared by alerting's integration tests and benchmark (real NATS, no mocks). */

export const ALL_SHARDS = [0, 1, 2, 3, 4, 5, 6, 7];

export const silent = pino({ level: 'silent' });
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tests' one wait helper (what, cond, timeoutMs). */
export { until } from '@geo/infra/testing';

export const today = () => shanghaiDate(Date.now());
export const tomorrow = () => shanghaiDate(Date.now() + 86_400_000);

/** A valid task spec around a circle, running today and tomorrow, all day. */
export function circleTask(center: [number, number], radiusM: number, over: Partial<AlertTaskSpecInput> = {}): AlertTaskSpecInput {
  return {
    alertType: 'rainstorm',
    region: { parts: [{ kind: 'circle', center, radiusM }] },
    subject: 'test',
    content: '暴雨预警：请注意安全',
    signature: '应急管理局',
    startDate: today(),
    endDate: tomorrow(),
    frequency: 'once',
    quota: {
      cmcc: { total: 100_000, dailyCap: 100_000 },
      cucc: { total: 100_000, dailyCap: 100_000 },
      ctcc: { total: 100_000, dailyCap: 100_000 },
    },
    balance: 300_000,
    accountId: `acc-${Math.random().toString(36).slice(2, 10)}`,
    enterpriseId: 'ent-test',
    ...over,
  };
}

/** Offsets a point by metres (east, north). */
export function offset([lng, lat]: [number, number], east: number, north: number): [number, number] {
  return [lng + east / (111_195 * Math.cos((lat * Math.PI) / 180)), lat + north / 111_195];
}

export function event(msisdn: string, carrier: Carrier, at: [number, number], over: Partial<LocationEvent> = {}): LocationEvent {
  return {
    msisdn,
    carrier,
    ts: Date.now(),
    cell: `cell-${at[0].toFixed(5)}-${at[1].toFixed(5)}`,
    lng: at[0],
    lat: at[1],
    kind: 'periodic',
    ...over,
  };
}

let published = 0;
/**
 * Publishes events to LOCATION, grouped per subject (carrier + shard), in batches: binary and JSON
 * messages alternate, as LOCATION carries both (ingest writes binary; external or older JSON).
 */
export async function publishEvents(nc: NatsConnection, events: LocationEvent[], perMessage = 200): Promise<void> {
  const js = jetstream(nc, { timeout: 15_000 });
  const bySubject = new Map<string, LocationEvent[]>();
  for (const e of events) {
    const s = locationSubject(e.carrier, shardOf(e.msisdn));
    (bySubject.get(s) ?? bySubject.set(s, []).get(s)!).push(e);
  }
  const acks: Promise<unknown>[] = [];
  for (const [s, evs] of bySubject)
    for (let i = 0; i < evs.length; i += perMessage) {
      const batch = evs.slice(i, i + perMessage);
      acks.push(js.publish(s, published++ % 2 ? JSON.stringify({ v: 1, events: batch }) : encodeLocationBatch(batch)));
    }
  await Promise.all(acks);
}

/**
 * The jobs of one SMS_JOBS message: a single job or a batch (`{v:1, common, jobs}`), each checked
 * against messaging's contract. Anything else is skipped: the stream is shared, and other suites
 * publish malformed jobs on purpose.
 */
export function jobsIn(data: Uint8Array): SmsJob[] {
  try {
    return smsJobsIn(JSON.parse(new TextDecoder().decode(data))) ?? [];
  } catch {
    return [];
  }
}

/** Every job in SMS_JOBS (the stream, so duplicates would show) belonging to a task. */
export async function jobsOf(nc: NatsConnection, taskId: string): Promise<SmsJob[]> {
  const js = jetstream(nc, { timeout: 15_000 });
  const info = await (await js.jetstreamManager()).streams.info(SMS_JOBS_STREAM);
  if (info.state.messages === 0) return [];
  const c = await js.consumers.get(SMS_JOBS_STREAM, { deliver_policy: DeliverPolicy.All });
  const out: SmsJob[] = [];
  const msgs = await c.consume({ max_messages: 1000 });
  for await (const m of msgs) {
    for (const job of jobsIn(m.data)) if (job.sendId === taskId) out.push(job);
    if (m.seq >= info.state.last_seq || m.info.pending === 0) break;
  }
  await msgs.close();
  return out;
}

let counter = 0;
/** Distinct mainland numbers per test run (a random 3-digit block, then a counter). */
export function numbers(n: number, block = 100 + Math.floor(Math.random() * 800)): string[] {
  return Array.from({ length: n }, () => `19${block}${String(counter++).padStart(6, '0')}`);
}

/** Declares every stream and bucket the engine touches, as a fresh server lacks them. */
export async function declareAll(nc: NatsConnection): Promise<void> {
  const { declareLocationStream } = await import('@geo/ingest');
  const { declareMessagingStreams } = await import('@geo/messaging');
  const { declareAlertingStreams } = await import('../streams.ts');
  await declareLocationStream(nc);
  await declareMessagingStreams(nc);
  await declareAlertingStreams(nc);
}

/** A nats-server of one test file's own, with every stream and bucket declared. */
export interface OwnNats {
  server: RunningNats;
  nc: NatsConnection;
  url: string;
  /** The server's data directory (also a place for the file's logs). */
  dir: string;
  /** Drains the connection, stops the server and removes its data. */
  close(): Promise<void>;
}

/**
 * Starts a nats-server for one test file. A file whose engine must see every event (and be the
 * only one evaluating them) needs its own: on the shared server, another file's engine consumes the
 * same durable consumers and task bucket.
 */
export async function ownNats(name: string): Promise<OwnNats> {
  const dir = mkdtempSync(join(tmpdir(), `alerting-${name}-`));
  const server = await startNatsServer({ dataDir: dir });
  const nc = await connectNats(server.url, `alerting-${name}`);
  await declareAll(nc);
  return {
    server,
    nc,
    url: server.url,
    dir,
    async close() {
      await nc.drain();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs an engine in this process on all shards, ticking every 200 ms, and waits until it is ready. */
export async function startEngine(nc: NatsConnection, instance: string, over: Partial<RunEngineOptions> = {}): Promise<RunningEngine> {
  const r = await runEngine({ nc, log: silent, shards: ALL_SHARDS, instance, tickMs: 200, ...over });
  await r.ready;
  return r;
}
