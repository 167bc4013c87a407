import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
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
import { until } from '@geo/infra/testing';
import type { LocationEvent } from '@geo/ingest';
import { INSIGHT_MIGRATIONS } from '../schema/migrations.ts';
import { CellDictionary } from './cells.ts';
import { PresenceState } from './presence-state.ts';
import { currentDurable, LocationSink } from './sink.ts';

/**
 * Fencing (#19): a sink whose lease is gone (`mayWrite` says no: a pause outlived the lease, or it
 * was handed over) writes and acks nothing more, however much it applies; the next holder
 * re-creates the durable from its ack floor and writes every move once.
 */
const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_FENCE_${tag}`;
const PREFIX = `insightfence${tag}`;
const DB = `insight_fence_${tag}`;
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
const log = createLogger('insight', 'silent');

/** 200 people; in round r each is in cell (i + r) mod 7: a move per person per round. */
const round = (r: number): LocationEvent[] =>
  Array.from({ length: 200 }, (_, i) => ({
    msisdn: `137${String(40_000_000 + i).padStart(8, '0')}`,
    carrier: 'cmcc' as const,
    ts: T0 + r * 60_000 + i * 10,
    cell: `FENCE-${(i + r) % 7}`,
    lat: 30 + ((i + r) % 7) / 100,
    lng: 120,
    kind: 'periodic' as const,
  }));

describe('a sink without its lease', () => {
  let nc: NatsConnection;
  let ch: ClickHouseClient;

  const sink = (mayWrite: () => boolean, alwaysRewind = false) =>
    new LocationSink({
      nc,
      ch,
      log,
      state: new PresenceState(new CellDictionary()),
      stream: STREAM,
      consumer: 'insight-fence',
      filterSubject: `${PREFIX}.>`,
      flushMs: 60_000,
      checkpointMs: 0,
      mayWrite,
      alwaysRewind,
    });
  const publish = async (events: LocationEvent[]) => {
    const js = jetstream(nc);
    for (let i = 0; i < events.length; i += 50)
      await js.publish(`${PREFIX}.x.0`, JSON.stringify({ v: 1, events: events.slice(i, i + 50) }));
  };
  const moves = async () =>
    Number((await selectRows<{ n: string }>(ch, 'SELECT count() AS n FROM (SELECT DISTINCT sub, ts FROM insight_moves_to)'))[0]!.n);
  const ackPending = async () => {
    const jsm = await jetstreamManager(nc);
    return (await jsm.consumers.info(STREAM, (await currentDurable(jsm, STREAM, 'insight-fence'))!)).num_ack_pending;
  };

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-fence');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    const root = connectClickHouse(inject('clickhouseUrl'));
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    await root.close();
    ch = connectClickHouse(inject('clickhouseUrl'), DB);
    await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  });

  afterAll(async () => {
    await nc?.drain();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await ch?.close();
  });

  it('writes and acks nothing once the lease is gone; the next holder writes every move once from the ack floor', async () => {
    let leased = true;
    const old = sink(() => leased);
    await old.start();
    await publish(round(0));
    await until('200 applied by the old sink', () => old.applied === 200);
    await old.flush();
    expect(await moves()).toBe(200);
    expect(await ackPending()).toBe(0);

    // The lease lapses (the holder was paused); it wakes up and goes on applying and flushing.
    leased = false;
    await publish([...round(1), ...round(2)]);
    await until('600 applied by the old sink', () => old.applied === 600);
    await old.flush();
    expect(old.fencedFlushes).toBeGreaterThan(0);
    expect(await moves()).toBe(200);
    expect(await ackPending()).toBe(8);
    await old.stop({ flush: false });

    const next = sink(() => true, true);
    await next.start();
    await until('400 applied by the next sink', () => next.applied === 400);
    await next.flush();
    expect(await moves()).toBe(600);
    expect(await ackPending()).toBe(0);
    const twice = await selectRows<{ n: string }>(
      ch,
      'SELECT count() AS n FROM (SELECT sub, ts FROM insight_moves_to FINAL GROUP BY sub, ts HAVING count() > 1)',
    );
    expect(Number(twice[0]!.n)).toBe(0);
    await next.stop();
  }, 90_000);
});
