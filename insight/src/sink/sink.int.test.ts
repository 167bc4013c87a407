import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AckPolicy, jetstream } from '@nats-io/jetstream';
import {
  connectClickHouse,
  connectNats,
  createLogger,
  ensureStream,
  jetstreamManager,
  migrateClickHouse,
  selectRows,
  type ClickHouseClient,
  type NatsConnection,
} from '@geo/infra';
import { startTsxProcess, until, untilReady, type TsxProcess } from '@geo/infra/testing';
import type { LocationEvent } from '@geo/ingest';
import { InsightEnv } from '../config.ts';
import { createInsight, type RunningInsight } from '../service.ts';
import { NO_ADMIN_AREAS } from '../regions/region.ts';
import { INSIGHT_MIGRATIONS } from '../schema/migrations.ts';
import { currentDurable } from './sink.ts';

/** A TCP proxy in front of ClickHouse that the test can cut and restore, like a server restart. */
async function chaosProxy(target: URL): Promise<{ url: string; down(): Promise<void>; up(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const down = async () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  };
  await listen();
  return { url: `http://127.0.0.1:${port}`, down, up: listen, close: down };
}

const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_SINK_IT_${tag}`;
const PREFIX = `insightsinkit${tag}`;
const DB = `insight_sink_it_${tag}`;
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;

const events = (round: number): LocationEvent[] =>
  Array.from({ length: 300 }, (_, i) => ({
    msisdn: `137${String(20_000_000 + i).padStart(8, '0')}`,
    carrier: 'ctcc' as const,
    ts: T0 + round * 60_000 + i,
    cell: `SINKIT-${(i + round) % 17}`,
    lat: 30 + ((i + round) % 17) / 100,
    lng: 120,
    kind: 'periodic' as const,
  }));

describe('the sink across a ClickHouse outage', () => {
  let nc: NatsConnection;
  let ch: ClickHouseClient;
  let proxy: Awaited<ReturnType<typeof chaosProxy>>;
  let insight: RunningInsight;

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-sink-it');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    const root = connectClickHouse(inject('clickhouseUrl'));
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    await root.close();
    ch = connectClickHouse(inject('clickhouseUrl'), DB);
    proxy = await chaosProxy(new URL(inject('clickhouseUrl')));
    const cfg = InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: `${proxy.url}/${DB}`,
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM,
      INSIGHT_CONSUMER: 'insight-sink-it',
      INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
    });
    insight = await createInsight(cfg, createLogger('insight', 'silent'), { admin: NO_ADMIN_AREAS });
  });

  afterAll(async () => {
    await insight?.stop();
    await proxy?.close();
    await nc?.drain();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await ch?.close();
  });

  const publish = async (round: number) => {
    const js = jetstream(nc);
    const ev = events(round);
    for (let i = 0; i < ev.length; i += 100) await js.publish(`${PREFIX}.ctcc.0`, JSON.stringify({ v: 1, events: ev.slice(i, i + 100) }));
  };
  const pendingAcks = async () => {
    const jsm = await jetstreamManager(nc);
    return (await jsm.consumers.info(STREAM, (await currentDurable(jsm, STREAM, 'insight-sink-it'))!)).num_ack_pending;
  };

  it('holds acks while ClickHouse is unreachable, then writes everything exactly once', async () => {
    await publish(0);
    await until('round 0 applied', () => insight.sink.applied === 300, 45_000);
    await insight.sink.flush();
    expect(await pendingAcks()).toBe(0);

    await proxy.down();
    await publish(1);
    await until('round 1 applied in memory', () => insight.sink.applied === 600, 45_000);
    // Flushes are failing and retrying: nothing of round 1 is acked.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await pendingAcks()).toBe(3);

    await proxy.up();
    await until('acks after ClickHouse came back', async () => (await pendingAcks()) === 0, 45_000);
    const [m] = await selectRows<{ n: string; d: string }>(
      ch,
      'SELECT count() AS n, uniqExact(sub, ts, to_cell) AS d FROM insight_moves_to',
    );
    // Round 0: 300 first sightings; round 1: every subscriber moved to the next cell.
    expect([Number(m!.n), Number(m!.d)]).toEqual([600, 600]);
    const [p] = await selectRows<{ n: string; late: string }>(
      ch,
      `SELECT count() AS n, countIf(ts = ${T0} + 60000 + toUInt64(sub - 13720000000)) AS late FROM insight_presence FINAL`,
    );
    expect([Number(p!.n), Number(p!.late)]).toEqual([300, 300]);
  });
});

describe('the sink after a crash that left messages delivered but unacked', () => {
  const STREAM2 = `INSIGHT_SINK_CRASH_${tag}`;
  const PREFIX2 = `insightsinkcrash${tag}`;
  const DB2 = `insight_sink_crash_${tag}`;
  const DURABLE = 'insight-sink-crash';
  let nc: NatsConnection;
  let ch: ClickHouseClient;
  let insight: RunningInsight | undefined;

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-sink-crash-it');
    await ensureStream(await jetstreamManager(nc), { name: STREAM2, subjects: [`${PREFIX2}.>`] });
    const root = connectClickHouse(inject('clickhouseUrl'));
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB2}` });
    await root.close();
    ch = connectClickHouse(inject('clickhouseUrl'), DB2);
  });

  afterAll(async () => {
    await insight?.stop();
    await nc?.drain();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${DB2}` }).catch(() => undefined);
    await ch?.close();
  });

  it('re-reads them in stream order, so it writes no move that did not happen', async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    // Three rounds: everyone is first seen, then moves twice (A → B → C).
    for (let round = 0; round < 3; round++) {
      const ev = events(round);
      for (let i = 0; i < ev.length; i += 100)
        await js.publish(`${PREFIX2}.ctcc.0`, JSON.stringify({ v: 1, events: ev.slice(i, i + 100) }));
    }
    // A process that took the first two rounds and died before writing or acking anything.
    await jsm.consumers.add(STREAM2, {
      durable_name: DURABLE,
      filter_subject: `${PREFIX2}.>`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: 60_000_000_000,
    });
    const dead = await js.consumers.get(STREAM2, DURABLE);
    const taken = await dead.fetch({ max_messages: 6, expires: 5000 });
    let got = 0;
    for await (const _ of taken) if (++got === 6) break;
    expect(got).toBe(6);
    expect((await jsm.consumers.info(STREAM2, DURABLE)).num_ack_pending).toBe(6);

    const cfg = InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB2}`,
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM2,
      INSIGHT_CONSUMER: DURABLE,
      INSIGHT_FILTER_SUBJECT: `${PREFIX2}.>`,
    });
    insight = await createInsight(cfg, createLogger('insight', 'silent'), { admin: NO_ADMIN_AREAS });
    // Without the rewind, round 2 came first (its events then looked like first sightings in C) and
    // rounds 0 and 1 only after ack_wait, skipped as older: moves 0 → C instead of 0 → A → B → C.
    await until('the sink to apply 900 events', () => insight!.sink.applied >= 900, 45_000);
    await insight.sink.flush();
    const want = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const cellOf = (round: number) => `SINKIT-${(i + round) % 17}`;
      const sub = Number(`137${String(20_000_000 + i).padStart(8, '0')}`);
      for (let round = 0; round < 3; round++)
        want.add(`${sub}|${Math.floor((T0 + round * 60_000 + i) / 1000)}|${round === 0 ? '' : cellOf(round - 1)}|${cellOf(round)}`);
    }
    const names = new Map(
      (
        await selectRows<{ cell: string; name: string }>(
          ch,
          'SELECT toString(cell) AS cell, any(name) AS name FROM insight_cells GROUP BY cell',
        )
      ).map((c) => [c.cell, c.name]),
    );
    const rows = await selectRows<{ sub: string; ts: string; f: string; t: string }>(
      ch,
      'SELECT DISTINCT toString(sub) AS sub, toUInt32(ts) AS ts, toString(from_cell) AS f, toString(to_cell) AS t FROM insight_moves_to',
    );
    const got2 = new Set(rows.map((r) => `${r.sub}|${r.ts}|${r.f === '0' ? '' : names.get(r.f)}|${names.get(r.t)}`));
    expect([...got2].filter((m) => !want.has(m)).slice(0, 5)).toEqual([]);
    expect(got2.size).toBe(want.size);
  });
});

describe('the sink killed with SIGKILL after writing moves, before its checkpoint', () => {
  const STREAM3 = `INSIGHT_SINK_KILL_${tag}`;
  const PREFIX3 = `insightsinkkill${tag}`;
  const DB3 = `insight_sink_kill_${tag}`;
  const DURABLE = 'insight-sink-kill';
  let nc: NatsConnection;
  let ch: ClickHouseClient;
  let insight: RunningInsight | undefined;
  let child: TsxProcess | undefined;

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-sink-kill-it');
    await ensureStream(await jetstreamManager(nc), { name: STREAM3, subjects: [`${PREFIX3}.>`] });
    const root = connectClickHouse(inject('clickhouseUrl'));
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB3}` });
    await root.close();
    ch = connectClickHouse(inject('clickhouseUrl'), DB3);
    await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  });

  afterAll(async () => {
    child?.child.kill('SIGKILL');
    await insight?.stop();
    await nc?.drain();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${DB3}` }).catch(() => undefined);
    await ch?.close();
  });

  it('re-applies the unacked messages onto the last checkpoint: every move once, none missing, none invented', async () => {
    const js = jetstream(nc);
    const publish = async (round: number) => {
      const ev = events(round);
      for (let i = 0; i < ev.length; i += 100)
        await js.publish(`${PREFIX3}.ctcc.0`, JSON.stringify({ v: 1, events: ev.slice(i, i + 100) }));
    };
    await publish(0);
    await publish(1);
    // A sink that writes moves on every message and would write its checkpoint only after an hour.
    let last = '';
    child = startTsxProcess('sink process', 'sink-process.fixture.ts', {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      env: {
        NATS_URL: inject('natsUrl'),
        CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB3}`,
        STREAM: STREAM3,
        CONSUMER: DURABLE,
        FILTER: `${PREFIX3}.>`,
      },
      onLine: (l) => {
        last = l;
      },
    });
    const movesWritten = async () =>
      Number((await selectRows<{ n: string }>(ch, 'SELECT uniqExact(sub, ts, to_cell) AS n FROM insight_moves_to'))[0]!.n);
    await untilReady(
      child,
      'its 600 moves written',
      async () => last.startsWith('applied 600 ') && (await movesWritten()) === 600,
      60_000,
      100,
    );
    expect(last).toMatch(/checkpoints 0$/);
    expect((await (await jetstreamManager(nc)).consumers.info(STREAM3, DURABLE)).num_ack_pending).toBe(6);
    child.child.kill('SIGKILL');
    await child.exited;

    await publish(2);
    const cfg = InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB3}`,
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM3,
      INSIGHT_CONSUMER: DURABLE,
      INSIGHT_FILTER_SUBJECT: `${PREFIX3}.>`,
    });
    insight = await createInsight(cfg, createLogger('insight', 'silent'), { admin: NO_ADMIN_AREAS });
    // No checkpoint was written: all three rounds apply, rounds 0 and 1 a second time.
    await until('the sink to apply all three rounds (900 events)', () => insight!.sink.applied >= 900, 90_000);
    await insight.sink.flush();
    // The restart rewound the durable: a new one (the next generation) from the ack floor (#19).
    const jsm3 = await jetstreamManager(nc);
    expect(insight.sink.durable).toBe(`${DURABLE}-1`);
    expect((await jsm3.consumers.info(STREAM3, (await currentDurable(jsm3, STREAM3, DURABLE))!)).num_ack_pending).toBe(0);
    const names = new Map(
      (
        await selectRows<{ cell: string; name: string }>(
          ch,
          'SELECT toString(cell) AS cell, any(name) AS name FROM insight_cells GROUP BY cell',
        )
      ).map((c) => [c.cell, c.name]),
    );
    const rows = await selectRows<{ sub: string; ts: string; f: string; t: string }>(
      ch,
      'SELECT DISTINCT toString(sub) AS sub, toUInt32(ts) AS ts, toString(from_cell) AS f, toString(to_cell) AS t FROM insight_moves_to',
    );
    const got = new Set(rows.map((r) => `${r.sub}|${r.ts}|${r.f === '0' ? '' : names.get(r.f)}|${names.get(r.t)}`));
    const want = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const cellOf = (round: number) => `SINKIT-${(i + round) % 17}`;
      const sub = Number(`137${String(20_000_000 + i).padStart(8, '0')}`);
      for (let round = 0; round < 3; round++)
        want.add(`${sub}|${Math.floor((T0 + round * 60_000 + i) / 1000)}|${round === 0 ? '' : cellOf(round - 1)}|${cellOf(round)}`);
    }
    expect([...got].filter((m) => !want.has(m)).slice(0, 5)).toEqual([]);
    expect(got.size).toBe(want.size);
    // Everyone's checkpoint row holds round 2 (no subscriber lost or left behind).
    const [p] = await selectRows<{ n: string; late: string }>(
      ch,
      `SELECT count() AS n, countIf(ts = ${T0} + 120000 + toUInt64(sub - 13720000000)) AS late FROM insight_presence FINAL`,
    );
    expect([Number(p!.n), Number(p!.late)]).toEqual([300, 300]);
  });
});
