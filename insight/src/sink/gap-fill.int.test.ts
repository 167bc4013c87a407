import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import {
  connectClickHouse, connectNats, createLogger, ensureStream, jetstreamManager, migrateClickHouse, ms, selectRows,
  type ClickHouseClient, type NatsConnection,
} from '@geo/infra';
import type { LocationEvent } from '@geo/ingest';
import { INSIGHT_MIGRATIONS } from '../schema/migrations.ts';
import { startTcpProxy, type TcpProxy } from '../test/tcp-proxy.ts';
import { CellDictionary } from './cells.ts';
import { PresenceState } from './presence-state.ts';
import { LocationSink } from './sink.ts';

const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_GAP_IT_${tag}`;
const PREFIX = `insightgapit${tag}`;
const DB = `insight_gap_it_${tag}`;
const DURABLE = 'insight-gap-it';
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
const PEOPLE = 50;
const ROUNDS = ['A', 'B', 'C'];

const msisdn = (i: number) => `137${String(30_000_000 + i).padStart(8, '0')}`;
/** Round r: everyone in cell GAP-<letter>-<i> at T0 + r minutes (A → B → C). */
const events = (r: number, from: number, to: number): LocationEvent[] =>
  Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { msisdn: msisdn(i), carrier: 'cmcc' as const, ts: T0 + r * 60_000 + i, cell: `GAP-${ROUNDS[r]}-${i}`, lat: 30 + r / 100, lng: 120 + i / 1000, kind: 'periodic' as const };
  });

/** Polls `cond` every 50 ms until it holds, failing after a deadline. */
const until = async (cond: () => Promise<boolean> | boolean, what: string, deadlineMs = 30_000) => {
  const deadline = Date.now() + deadlineMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('the sink when deliveries are lost in transit (connection cut mid-run)', () => {
  let nc: NatsConnection;
  let sinkNc: NatsConnection;
  let ch: ClickHouseClient;
  let proxy: TcpProxy;
  let sink: LocationSink;
  const registry = new Registry();
  const state = new PresenceState(new CellDictionary());

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-gap-it');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    const root = connectClickHouse(inject('clickhouseUrl'));
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    await root.close();
    ch = connectClickHouse(inject('clickhouseUrl'), DB);
    await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
    const nats = new URL(inject('natsUrl'));
    proxy = await startTcpProxy({ host: nats.hostname, port: Number(nats.port) });
    sinkNc = await connectNats(`nats://127.0.0.1:${proxy.port}`, 'insight-gap-it-sink');
    sink = new LocationSink({
      nc: sinkNc, ch, state, log: createLogger('insight-gap-it', 'silent'), registry,
      // Only the location subjects: the stream also holds another subject, which a fill must skip.
      stream: STREAM, consumer: DURABLE, filterSubject: `${PREFIX}.loc.>`, flushMs: 100, checkpointMs: 200,
      // The default: far longer than the test, so a redelivery cannot put things in order by itself.
      ackWaitMs: 60_000,
    });
    await sink.start();
  });

  afterAll(async () => {
    await sink?.stop();
    await sinkNc?.close();
    await proxy?.close();
    await nc?.drain();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await ch?.close();
  });

  it('reads the lost messages back from the stream in order: moves A→B→C, never A→C; their redelivery is skipped and acked', async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const consumerInfo = () => jsm.consumers.info(STREAM, DURABLE);
    const publish = async (r: number, from: number, to: number) =>
      (await js.publish(`${PREFIX}.loc.cmcc.0`, JSON.stringify({ v: 1, events: events(r, from, to) }))).seq;
    const at = (i: number) => state.ts[state.indexOf(Number(msisdn(i)))!];

    // A: everyone's first sighting, received and acked.
    await publish(0, 0, PEOPLE);
    await until(() => sink.applied === PEOPLE, 'round A applied');
    await sink.flush();

    // B: delivered by the server into a connection that never passes it on, then cut.
    proxy.hold();
    await publish(1, 0, PEOPLE / 2);
    await js.publish(`${PREFIX}.other`, 'not a location batch');
    const lastB = await publish(1, PEOPLE / 2, PEOPLE);
    await until(async () => (await consumerInfo()).delivered.stream_seq === lastB && proxy.held() > 0, 'round B delivered into the held connection');
    expect(sink.applied).toBe(PEOPLE);
    let reconnected = false;
    const statuses = sinkNc.status();
    void (async () => {
      for await (const s of statuses) if (s.type === 'reconnect') reconnected = true;
    })();
    proxy.cut();
    await until(() => reconnected, 'the sink reconnected');

    // C: delivered at once after the reconnect, while B waits for its ack_wait (60 s).
    await publish(2, 0, PEOPLE);
    await until(() => Array.from({ length: PEOPLE }, (_, i) => at(i)).every((ts, i) => ts === T0 + 2 * 60_000 + i), 'round C applied');
    await sink.flush();

    const names = new Map((await selectRows<{ cell: string; name: string }>(ch, 'SELECT toString(cell) AS cell, any(name) AS name FROM insight_cells GROUP BY cell')).map((c) => [c.cell, c.name]));
    const rows = await selectRows<{ sub: string; ts: string; f: string; t: string }>(ch,
      'SELECT DISTINCT toString(sub) AS sub, toUInt32(ts) AS ts, toString(from_cell) AS f, toString(to_cell) AS t FROM insight_moves_to');
    const got = rows.map((r) => `${r.sub} ${r.f === '0' ? '-' : names.get(r.f)}→${names.get(r.t)}`).sort();
    const want: string[] = [];
    for (let i = 0; i < PEOPLE; i++) want.push(`${Number(msisdn(i))} -→GAP-A-${i}`, `${Number(msisdn(i))} GAP-A-${i}→GAP-B-${i}`, `${Number(msisdn(i))} GAP-B-${i}→GAP-C-${i}`);
    expect(got.filter((m) => m.includes('GAP-A') && m.includes('GAP-C'))).toEqual([]);
    expect(got).toEqual(want.sort());
    expect([sink.gapFiller?.gaps, sink.gapFiller?.filled, sink.applied]).toEqual([1, 2, 3 * PEOPLE]);
    const gapMetric = (await registry.getSingleMetric('insight_sink_gap_messages_total')!.get()).values;
    expect(Object.fromEntries(gapMetric.map((v) => [v.labels.outcome, v.value]))).toEqual({ applied: 2, other_subject: 1 });
    // A and C are acked (their effects are in the checkpoint; acks reach the server asynchronously);
    // B's two messages wait for their redelivery.
    await until(async () => (await consumerInfo()).num_ack_pending === 2, 'A and C acked, B pending');

    // Their redelivery (made due now) is skipped by stream position and acked after a checkpoint.
    const duplicates = async () => (await registry.getSingleMetric('insight_sink_events_total')!.get()).values.find((v) => v.labels.outcome === 'duplicate')?.value ?? 0;
    const before = await duplicates();
    await jsm.consumers.update(STREAM, DURABLE, { ack_wait: ms(1000) });
    await until(async () => (await consumerInfo()).num_ack_pending === 0, 'round B redelivered and acked');
    expect(await duplicates()).toBe(before + PEOPLE);
    expect(sink.applied).toBe(3 * PEOPLE);
    const again = await selectRows<{ n: string }>(ch, 'SELECT uniqExact(sub, ts, from_cell, to_cell) AS n FROM insight_moves_to');
    expect(Number(again[0]!.n)).toBe(3 * PEOPLE);
  });
});
