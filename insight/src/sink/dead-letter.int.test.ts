import { afterAll, describe, expect, inject, it } from 'vitest';
import { DEAD_LETTER_STREAM, DeadLetter, deadLetterSubject, ensureDeadLetterStream } from '@geo/infra';
import { until } from '@geo/infra/testing';
import type { LocationEvent } from '@geo/ingest';
import { sinkWorld, type SinkWorld } from '../test/sink-fixture.ts';

const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
const event = (i: number, cell = `DL-${i}`): LocationEvent => ({
  msisdn: `137${String(40_000_000 + i).padStart(8, '0')}`,
  carrier: 'cmcc',
  ts: T0 + i,
  cell,
  lat: 30,
  lng: 120 + i / 1000,
  kind: 'periodic',
});

describe('insight sink: malformed LOCATION messages (real nats-server and clickhouse-server)', () => {
  let w: SinkWorld | undefined;
  afterAll(async () => {
    await w?.close();
  });

  it('dead-letters a malformed message with its reason and terminates it; good events around it are applied and acked', async () => {
    w = await sinkWorld('dl', { natsUrl: inject('natsUrl'), clickhouseUrl: inject('clickhouseUrl') });
    const { stream, js, jsm } = w;
    await ensureDeadLetterStream(w.nc);
    const subject = `${w.prefix}.loc.cmcc.0`;
    await js.publish(subject, JSON.stringify({ v: 1, events: [event(0), event(1)] }));
    const broken = await js.publish(subject, '{not json');
    // A binary batch (GLOC magic) cut short after its header: malformed whole.
    const cut = await js.publish(subject, new Uint8Array([0x47, 0x4c, 0x4f, 0x43, 1, 0, 0, 0]));
    // One bad event in a JSON batch: the others are kept, nothing is dead-lettered.
    await js.publish(subject, JSON.stringify({ v: 1, events: [event(2), { ...event(3), msisdn: '12' }, event(4)] }));

    const { sink, state } = w.sink({ consumer: 'insight-dl' });
    await sink.start();
    await until('the sink to apply 4 events', () => sink.applied >= 4);
    await sink.flush();

    const letters = await js.consumers.get(DEAD_LETTER_STREAM, { filter_subjects: deadLetterSubject('insight', stream) });
    const entries: DeadLetter[] = [];
    for (let i = 0; i < 2; i++) {
      const m = await letters.next({ expires: 10_000 });
      if (!m) break;
      entries.push(DeadLetter.parse(m.json()));
    }
    expect(entries.map((e) => [e.source.stream, e.source.seq])).toEqual([
      [stream, broken.seq],
      [stream, cut.seq],
    ]);
    expect(entries[0]!.reason).toMatch(/JSON/i);
    expect(entries[1]!.reason).toMatch(/header/);
    expect(Buffer.from(entries[0]!.data, 'base64').toString()).toBe('{not json');
    // Terminated or acked: nothing waits for a redelivery.
    const info = await jsm.consumers.info(stream, 'insight-dl');
    expect([info.num_ack_pending, info.num_redelivered, info.ack_floor.stream_seq]).toEqual([0, 0, 4]);
    expect([0, 1, 2, 4].map((i) => state.indexOf(Number(event(i).msisdn)) !== undefined)).toEqual([true, true, true, true]);
    expect(state.indexOf(Number(event(3).msisdn))).toBeUndefined();
  });
});
