import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import {
  connectClickHouse,
  connectNats,
  createLogger,
  ensureStream,
  jetstreamManager,
  migrateClickHouse,
  type NatsConnection,
} from '@geo/infra';
import { until } from '@geo/infra/testing';
import type { LocationEvent } from '@geo/ingest';
import { INSIGHT_MIGRATIONS } from '../schema/migrations.ts';
import { CellDictionary } from './cells.ts';
import { PresenceState } from './presence-state.ts';
import { LocationSink } from './sink.ts';

const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
const PEOPLE = 20;
const msisdn = (i: number) => `137${String(40_000_000 + i).padStart(8, '0')}`;
const events = (r: number): LocationEvent[] =>
  Array.from({ length: PEOPLE }, (_, i) => ({
    msisdn: msisdn(i),
    carrier: 'cmcc' as const,
    ts: T0 + r * 60_000 + i,
    cell: `RESTART-${r}-${i}`,
    lat: 30 + r / 100,
    lng: 120 + i / 1000,
    kind: 'periodic' as const,
  }));

/**
 * A sink that stops consuming while it holds the lease writes nothing and lets nobody else write
 * (#19: alerting's shard 0 stopped so after the NATS cluster lost nodes). nats.js ends a consume
 * iterator for good on a 400 answer to a pull; the sink opens its durable again.
 */
describe('the sink when its consume iterator ends (real nats-server and ClickHouse)', () => {
  const stream = `INSIGHT_RESTART_${tag}`;
  const prefix = `insightrestart${tag}`;
  const db = `insight_restart_${tag}`;
  const durable = 'insight-restart';
  let nc: NatsConnection;
  let sink: LocationSink;
  const state = new PresenceState(new CellDictionary());
  const registry = new Registry();
  let ch: ReturnType<typeof connectClickHouse>;
  // The sink's pulls, seen from the side: where to answer one with a 400.
  let pull: string | undefined;
  let sniff: { unsubscribe(): void };

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-restart');
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: stream, subjects: [`${prefix}.>`] });
    const root = connectClickHouse(inject('clickhouseUrl'));
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    await root.close();
    ch = connectClickHouse(inject('clickhouseUrl'), db);
    await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
    sniff = nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`, { callback: (_e, m) => void (pull = m.reply ?? pull) });
    sink = new LocationSink({
      nc,
      ch,
      state,
      log: createLogger('insight-restart-it', 'silent'),
      registry,
      stream,
      consumer: durable,
      filterSubject: `${prefix}.loc.>`,
      flushMs: 100,
      checkpointMs: 200,
    });
    await sink.start();
  }, 60_000);
  afterAll(async () => {
    await sink?.stop();
    await nc?.drain();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
    await ch?.close();
  });

  const reached = (r: number) =>
    Array.from({ length: PEOPLE }, (_, i) => state.ts[state.indexOf(Number(msisdn(i)))!]).every((ts, i) => ts === T0 + r * 60_000 + i);

  it('opens its durable again and applies what is published afterwards, counting the restart', async () => {
    const js = jetstream(nc);
    await js.publish(`${prefix}.loc.cmcc.0`, JSON.stringify({ v: 1, events: events(0) }));
    await until('the first round applied', () => reached(0), 15_000);
    await until('a pull seen', () => pull !== undefined, 15_000);
    sniff.unsubscribe();
    // What nats-server answers a pull it cannot take: nats.js stops the iterator with it.
    nc.publish(pull!, new Uint8Array(), { headers: headers(400, 'Bad Request') });
    await new Promise((r) => setTimeout(r, 500));
    await js.publish(`${prefix}.loc.cmcc.0`, JSON.stringify({ v: 1, events: events(1) }));
    await until('the round published after the iterator ended applied', () => reached(1), 20_000);
    expect(sink.applied).toBe(2 * PEOPLE);
    expect(await registry.metrics()).toMatch(/^insight_sink_consumer_restarts_total\{mode="durable"\} [1-9]/m);
  }, 60_000);
});

/**
 * A standby keeps the live state that region queries read on every instance (#19): its ordered
 * consumer's iterator ending for good (a 400 to a pull) left it following the stream no more, its
 * answers frozen at that moment until it took the lease over.
 */
describe("a standby sink when its ordered consumer's iterator ends (real nats-server and ClickHouse)", () => {
  const stream = `INSIGHT_FOLLOW_${tag}`;
  const prefix = `insightfollow${tag}`;
  const db = `insight_follow_${tag}`;
  let nc: NatsConnection;
  let standby: LocationSink;
  const state = new PresenceState(new CellDictionary());
  let ch: ReturnType<typeof connectClickHouse>;
  let pull: string | undefined;
  let sniff: { unsubscribe(): void };

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-follow-restart');
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: stream, subjects: [`${prefix}.>`] });
    const root = connectClickHouse(inject('clickhouseUrl'));
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    await root.close();
    ch = connectClickHouse(inject('clickhouseUrl'), db);
    await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
    // The ordered consumer's pulls (its name is the client's): where to answer one with a 400.
    sniff = nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${stream}.*`, { callback: (_e, m) => void (pull = m.reply ?? pull) });
    standby = new LocationSink({
      nc,
      ch,
      state,
      log: createLogger('insight-follow-it', 'silent'),
      stream,
      consumer: 'insight-follow',
      filterSubject: `${prefix}.loc.>`,
      mode: 'follow',
    });
    await standby.start();
  }, 60_000);
  afterAll(async () => {
    await standby?.stop({ flush: false });
    await nc?.drain();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
    await ch?.close();
  });

  const reached = (r: number) =>
    Array.from({ length: PEOPLE }, (_, i) => state.ts[state.indexOf(Number(msisdn(i)))!]).every((ts, i) => ts === T0 + r * 60_000 + i);

  it('follows the stream again and applies what is published afterwards, each event once', async () => {
    const js = jetstream(nc);
    await js.publish(`${prefix}.loc.cmcc.0`, JSON.stringify({ v: 1, events: events(0) }));
    await until('the first round followed', () => reached(0), 15_000);
    await until('a pull seen', () => pull !== undefined, 15_000);
    sniff.unsubscribe();
    nc.publish(pull!, new Uint8Array(), { headers: headers(400, 'Bad Request') });
    await new Promise((r) => setTimeout(r, 500));
    await js.publish(`${prefix}.loc.cmcc.0`, JSON.stringify({ v: 1, events: events(1) }));
    await until('the round published after the iterator ended followed', () => reached(1), 20_000);
    expect(standby.applied).toBe(2 * PEOPLE);
  }, 60_000);
});
