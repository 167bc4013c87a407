import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { DEAD_LETTER_STREAM, DeadLetter, connectNats, ensureDeadLetterStream, type NatsConnection } from '@geo/infra';
import { shardOf, type LocationEvent } from '../contract.ts';
import { loadAdminAreas } from '../geography/admin-areas.ts';
import { ingestMetrics } from '../metrics.ts';
import { BatchPublisher } from '../publish/batch-publisher.ts';
import { Simulator } from '../simulator/simulator.ts';
import { testLocationStream } from '../testing/test-stream.ts';
import { FeedPipeline } from './feed-pipeline.ts';
import { startHttpFeed, type HttpFeed } from './http-feed.ts';
import { startNatsFeed } from './nats-feed.ts';
import { replayFile } from './file-replay.ts';

const log = pino({ level: 'silent' });
const KEY = `cmcc-${randomBytes(12).toString('hex')}`;

describe('external feeds (real nats-server)', () => {
  let nc: NatsConnection;
  let dir: string;
  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'ingest-feeds-test');
    await ensureDeadLetterStream(nc);
    dir = mkdtempSync(join(tmpdir(), 'ingest-feeds-'));
  });
  afterAll(async () => {
    await nc?.drain();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A pipeline into a stream of the test's own, dead-lettering under a service name of its own. */
  async function setup(label: string) {
    const stream = await testLocationStream(nc, label);
    const registry = new Registry();
    const metrics = ingestMetrics(registry);
    const service = `ingest-test-${label}-${randomBytes(3).toString('hex')}`;
    const publisher = new BatchPublisher({ nc, runId: service, batchSize: 100, metrics, subjectOf: stream.subjectOf });
    const pipeline = new FeedPipeline({ nc, publisher, shards: 8, metrics, log, service });
    const deadLetters = async (feed: string, expected: number) => {
      const c = await jetstream(nc).consumers.get(DEAD_LETTER_STREAM, { filter_subjects: `dlq.${service}.feed-${feed}` });
      const out: DeadLetter[] = [];
      while (out.length < expected) {
        const m = await c.next({ expires: 5000 });
        if (!m) break;
        out.push(DeadLetter.parse(m.json()));
      }
      return out;
    };
    return { stream, registry, pipeline, deadLetters };
  }

  const event = (n: number, over: Record<string, unknown> = {}) =>
    JSON.stringify({
      msisdn: `139${String(n).padStart(8, '0')}`,
      carrier: 'cmcc',
      ts: Date.now() - 60_000,
      cell: `460-00-1000${n}-1`,
      lat: 30.25,
      lng: 120.15,
      kind: 'data',
      ...over,
    });

  describe('HTTP NDJSON', () => {
    let feed: HttpFeed;
    let ctx: Awaited<ReturnType<typeof setup>>;
    beforeAll(async () => {
      ctx = await setup('http');
      feed = await startHttpFeed({ port: 0, keys: { cmcc: KEY }, pipeline: ctx.pipeline, log });
    });
    afterAll(() => feed?.close());

    it('refuses a request without a known ingest key', async () => {
      const res = await fetch(feed.url, { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: event(1) });
      expect(res.status).toBe(401);
      expect((await res.json()).error).toBe('unauthorized');
    });

    it('dead-letters bad events with their reasons and counts them, while the good ones around them reach JetStream', async () => {
      const body = [
        event(1),
        '{"msisdn": "13900000002", ',
        event(3),
        event(4, { carrier: 'cucc', msisdn: '18600000004' }),
        event(5, { ts: Date.now() + 3600_000 }),
        event(6, { ts: Date.now() - 30 * 24 * 3600_000 }),
        event(7, { lat: 123 }),
        event(8),
      ].join('\n');
      const res = await fetch(feed.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-ndjson' },
        body,
      });
      expect(res.status).toBe(200);
      const result = await res.json();
      expect(result.accepted).toBe(3);
      expect(result.rejected).toBe(5);
      expect(result.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
        [2, 'json'],
        [4, 'carrier_mismatch'],
        [5, 'future'],
        [6, 'too_old'],
        [7, 'schema'],
      ]);

      const { events, msgIds } = await ctx.stream.read();
      expect(events.map((e) => e.msisdn).sort()).toEqual(['13900000001', '13900000003', '13900000008']);
      expect(msgIds.every((id) => id.length > 0)).toBe(true);

      const dead = await ctx.deadLetters('http', 5);
      expect(dead.map((d) => d.reason.split(':')[0])).toEqual(['json', 'carrier_mismatch', 'future', 'too_old', 'schema']);
      expect(dead[4].reason).toMatch(/lat/);
      expect(Buffer.from(dead[1].data, 'base64').toString()).toContain('18600000004');

      const metrics = await ctx.registry.getSingleMetricAsString('ingest_dead_letters_total');
      expect(metrics).toMatch(/feed="http",reason="json"\} 1/);
      expect(metrics).toMatch(/feed="http",reason="future"\} 1/);
      expect(await ctx.registry.getSingleMetricAsString('ingest_events_published_total')).toMatch(/ 3$/m);
    });
  });

  it('takes events by NATS subject too, answering a request with the same result', async () => {
    const ctx = await setup('nats');
    const tag = `itest${randomBytes(3).toString('hex')}`;
    const sub = startNatsFeed(nc, ctx.pipeline, log, `${tag}.*`);
    const reply = await nc.request(`${tag}.cmcc`, [event(11), 'nonsense', event(12)].join('\n'), { timeout: 10_000 });
    const result = reply.json<{ accepted: number; rejected: number }>();
    expect(result).toMatchObject({ accepted: 2, rejected: 1 });
    expect((await ctx.stream.read()).events.map((e) => e.msisdn).sort()).toEqual(['13900000011', '13900000012']);
    expect((await ctx.deadLetters('nats', 1))[0].reason).toMatch(/^json: not valid JSON/);
    sub.unsubscribe();
  });

  it('replays a simulator capture file whole (each event exactly once), and a CSV file too', async () => {
    const ctx = await setup('file');
    const sim = new Simulator({ areas: loadAdminAreas(), subscribers: 3000, seed: 9, startMs: Date.now() - 3 * 3600_000 });
    const lines: string[] = [];
    sim.advanceTo(sim.nowSec + 2 * 3600, { push: (_c, _s, json) => void lines.push(json) });
    expect(lines.length).toBeGreaterThan(5000);
    const path = join(dir, 'capture.ndjson');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const result = await replayFile(path, ctx.pipeline);
    expect(result).toMatchObject({ accepted: lines.length, rejected: 0 });
    const { events } = await ctx.stream.read();
    expect(events.length).toBe(lines.length);
    // Every event arrives exactly once, and in the file's order within its subject (carrier + shard).
    const key = (e: { msisdn: string; ts: number; kind: string }) => `${e.msisdn}/${e.ts}/${e.kind}`;
    const bySubject = (list: LocationEvent[]) => {
      const m = new Map<string, string[]>();
      for (const e of list) {
        const k = `${e.carrier}.${shardOf(e.msisdn)}`;
        m.set(k, [...(m.get(k) ?? []), key(e)]);
      }
      return m;
    };
    expect(bySubject(events)).toEqual(bySubject(lines.map((l) => JSON.parse(l) as LocationEvent)));

    const csv = join(dir, 'old.csv');
    const old = Date.now() - 30 * 24 * 3600_000;
    writeFileSync(
      csv,
      [
        'msisdn,carrier,ts,cell,lat,lng,kind,gender,age,home',
        `18600000021,cucc,${old},460-01-1-1,30.2,120.1,call,f,30,330100`,
        `18600000022,cucc,${old + 1000},460-01-1-2,30.3,120.2,sms,,,`,
        'x,y,z',
      ].join('\n'),
    );
    const ctx2 = await setup('csv');
    const csvResult = await replayFile(csv, ctx2.pipeline, { shiftToNow: true });
    expect(csvResult).toMatchObject({ accepted: 2, rejected: 1 });
    const replayed = (await ctx2.stream.read()).events.sort((a, b) => a.ts - b.ts);
    expect(replayed.map((e) => [e.msisdn, e.kind, e.gender, e.age])).toEqual([
      ['18600000021', 'call', 'f', 30],
      ['18600000022', 'sms', undefined, undefined],
    ]);
    expect(replayed[1].ts - replayed[0].ts).toBe(1000);
  });
});
