import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectNats, type NatsConnection } from './connect.ts';
import {
  DEAD_LETTER_MAX_DATA,
  DEAD_LETTER_STREAM,
  DeadLetter,
  deadLetterSubject,
  deadLetterWriter,
  ensureDeadLetterStream,
} from './dead-letter.ts';
import { jetstreamManager } from './streams.ts';

describe('dead-letter writer (real nats-server)', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'dead-letter-test');
    await ensureDeadLetterStream(nc);
  });
  afterAll(async () => nc?.drain());

  const last = async (service: string) => {
    const jsm = await jetstreamManager(nc);
    const m = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: deadLetterSubject(service, 'feed-test') });
    return DeadLetter.parse(m!.json());
  };

  it('keeps a small payload whole, without a size', async () => {
    const write = deadLetterWriter(nc, `dl-small-${process.pid}`);
    await write('bad_json: not JSON', { stream: 'feed-test', subject: 'upload#3' }, Buffer.from('{oops'));
    const e = await last(`dl-small-${process.pid}`);
    expect(Buffer.from(e.data, 'base64').toString()).toBe('{oops');
    expect(e.bytes).toBeUndefined();
    expect(e.reason).toBe('bad_json: not JSON');
  });

  it('keeps the beginning of a payload near the 1 MB message limit and says how large it was', async () => {
    const service = `dl-big-${process.pid}`;
    const write = deadLetterWriter(nc, service);
    const huge = Buffer.alloc(1_000_000, 'y');
    huge.write('{"msisdn":"13800138000","pad":"', 0);
    await write('too_long: line longer than 4096 bytes', { stream: 'feed-test', subject: 'upload#2' }, huge);
    const e = await last(service);
    const kept = Buffer.from(e.data, 'base64');
    expect(kept.length).toBe(DEAD_LETTER_MAX_DATA);
    expect(kept.toString().startsWith('{"msisdn":"13800138000"')).toBe(true);
    expect(e.bytes).toBe(1_000_000);
  });
});
