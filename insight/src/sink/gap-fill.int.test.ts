import { afterAll, describe, expect, inject, it } from 'vitest';
import { Registry } from 'prom-client';
import { connectNats, ms, selectRows, type NatsConnection } from '@geo/infra';
import { startTcpProxy, until, type TcpProxy } from '@geo/infra/testing';
import type { LocationEvent } from '@geo/ingest';
import { sinkWorld } from '../test/sink-fixture.ts';

const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
const PEOPLE = 50;
const ROUNDS = ['A', 'B', 'C'];

const msisdn = (i: number) => `137${String(30_000_000 + i).padStart(8, '0')}`;
/** Round r: people from..to-1 in cell GAP-<letter>-<i> at T0 + r minutes (A → B → C). */
const events = (r: number, from: number, to: number): LocationEvent[] =>
  Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return {
      msisdn: msisdn(i),
      carrier: 'cmcc' as const,
      ts: T0 + r * 60_000 + i,
      cell: `GAP-${ROUNDS[r]}-${i}`,
      lat: 30 + r / 100,
      lng: 120 + i / 1000,
      kind: 'periodic' as const,
    };
  });

/**
 * A sink of its own (stream, durable, database) whose NATS connection goes through a proxy that
 * can lose what the server sent; the stream also holds another subject than the sink's filter.
 */
async function lossySink(name: string) {
  const w = await sinkWorld(`gap_${name}`, { natsUrl: inject('natsUrl'), clickhouseUrl: inject('clickhouseUrl') });
  const { ch, jsm, js, stream, prefix } = w;
  const durable = `insight-gap-${name}`;
  const nats = new URL(inject('natsUrl'));
  const proxy: TcpProxy = await startTcpProxy({ host: nats.hostname, port: Number(nats.port) });
  const sinkNc: NatsConnection = await connectNats(`nats://127.0.0.1:${proxy.port}`, `insight-gap-${name}-sink`);
  const registry = new Registry();
  const { sink, state } = w.sink({
    nc: sinkNc,
    registry,
    consumer: durable,
    // The default: far longer than the test, so a redelivery cannot put things in order by itself.
    ackWaitMs: 60_000,
  });
  await sink.start();
  const consumerInfo = () => jsm.consumers.info(stream, durable);
  return {
    sink,
    state,
    registry,
    proxy,
    sinkNc,
    ch,
    jsm,
    stream,
    durable,
    consumerInfo,
    /** Publishes round r for people from..to-1; returns its stream sequence. */
    publish: async (r: number, from = 0, to = PEOPLE) =>
      (await js.publish(`${prefix}.loc.cmcc.0`, JSON.stringify({ v: 1, events: events(r, from, to) }))).seq,
    publishOther: async () => (await js.publish(`${prefix}.other`, 'not a location batch')).seq,
    /** Has round r reached everyone's presence? */
    reached: (r: number) =>
      Array.from({ length: PEOPLE }, (_, i) => state.ts[state.indexOf(Number(msisdn(i)))!]).every((ts, i) => ts === T0 + r * 60_000 + i),
    /**
     * Holds back what the server sends, publishes (`publishLost` returns the last stream sequence it
     * published), waits until the server delivered that far, then cuts the connection (the held
     * bytes are discarded) and waits for the sink's reconnect.
     */
    async loseUpTo(publishLost: () => Promise<number>) {
      proxy.hold();
      const last = await publishLost();
      await until(
        'the lost messages delivered into the held connection',
        async () => (await consumerInfo()).delivered.stream_seq === last && proxy.held() > 0,
      );
      let reconnected = false;
      const statuses = sinkNc.status();
      void (async () => {
        for await (const s of statuses) if (s.type === 'reconnect') reconnected = true;
      })();
      proxy.cut();
      await until('the sink reconnected', () => reconnected);
    },
    /** Every move written, as "sub from→to" with cell names ("-" for a first sighting), sorted. */
    async moves() {
      const names = new Map(
        (
          await selectRows<{ cell: string; name: string }>(
            ch,
            'SELECT toString(cell) AS cell, any(name) AS name FROM insight_cells GROUP BY cell',
          )
        ).map((c) => [c.cell, c.name]),
      );
      const rows = await selectRows<{ sub: string; f: string; t: string }>(
        ch,
        'SELECT DISTINCT toString(sub) AS sub, toUInt32(ts) AS ts, toString(from_cell) AS f, toString(to_cell) AS t FROM insight_moves_to',
      );
      return rows.map((r) => `${r.sub} ${r.f === '0' ? '-' : names.get(r.f)}→${names.get(r.t)}`).sort();
    },
    gapMetric: async () =>
      Object.fromEntries(
        (await registry.getSingleMetric('insight_sink_gap_messages_total')!.get()).values.map((v) => [v.labels.outcome, v.value]),
      ),
    async close() {
      await w.close();
      await sinkNc.close();
      await proxy.close();
    },
  };
}

/** The moves of rounds 0..last for everyone: a first sighting, then one move per round. */
const movesThrough = (last: number) => {
  const want: string[] = [];
  for (let i = 0; i < PEOPLE; i++) {
    const sub = Number(msisdn(i));
    for (let r = 0; r <= last; r++) want.push(`${sub} ${r === 0 ? '-' : `GAP-${ROUNDS[r - 1]}-${i}`}→GAP-${ROUNDS[r]}-${i}`);
  }
  return want.sort();
};

describe('the sink when deliveries are lost in transit (connection cut mid-run)', () => {
  const running: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of running) await s.close();
  });

  it('reads the lost messages back from the stream in order: moves A→B→C, never A→C; their redelivery is skipped and acked', async () => {
    const s = await lossySink('mid');
    running.push(s);
    // A: everyone's first sighting, received and acked.
    await s.publish(0);
    await until('round A applied', () => s.sink.applied === PEOPLE);
    await s.sink.flush();

    // B (two messages, another subject between them): delivered by the server into a connection
    // that never passes it on, then cut.
    await s.loseUpTo(async () => {
      await s.publish(1, 0, PEOPLE / 2);
      await s.publishOther();
      return s.publish(1, PEOPLE / 2, PEOPLE);
    });
    expect(s.sink.applied).toBe(PEOPLE);

    // C: delivered at once after the reconnect, while B waits for its ack_wait (60 s).
    await s.publish(2);
    await until('round C applied', () => s.reached(2));
    await s.sink.flush();
    const got = await s.moves();
    expect(got.filter((m) => m.includes('GAP-A') && m.includes('GAP-C'))).toEqual([]);
    expect(got).toEqual(movesThrough(2));
    expect([s.sink.gapFiller?.gaps, s.sink.gapFiller?.filled, s.sink.applied]).toEqual([1, 2, 3 * PEOPLE]);
    expect(await s.gapMetric()).toEqual({ applied: 2, other_subject: 1 });
    // A and C are acked (their effects are in the checkpoint; acks reach the server asynchronously);
    // B's two messages wait for their redelivery.
    await until('A and C acked, B pending', async () => (await s.consumerInfo()).num_ack_pending === 2);

    // Their redelivery (made due now) is skipped by stream position and acked after a checkpoint.
    const duplicates = async () =>
      (await s.registry.getSingleMetric('insight_sink_events_total')!.get()).values.find((v) => v.labels.outcome === 'duplicate')?.value ??
      0;
    const before = await duplicates();
    await s.jsm.consumers.update(s.stream, s.durable, { ack_wait: ms(1000) });
    await until('round B redelivered and acked', async () => (await s.consumerInfo()).num_ack_pending === 0);
    expect(await duplicates()).toBe(before + PEOPLE);
    expect(s.sink.applied).toBe(3 * PEOPLE);
    expect(await s.moves()).toEqual(movesThrough(2));
  });

  it("also finds deliveries lost before the first message it received since it started (from the consumer's delivered position)", async () => {
    const s = await lossySink('start');
    running.push(s);
    // A is lost before anything reached this process; B comes after the reconnect.
    await s.loseUpTo(() => s.publish(0));
    await s.publish(1);
    await until('round B applied', () => s.reached(1));
    await s.sink.flush();
    expect(await s.moves()).toEqual(movesThrough(1));
    expect([s.sink.gapFiller?.gaps, s.sink.applied]).toEqual([1, 2 * PEOPLE]);
  });
});
