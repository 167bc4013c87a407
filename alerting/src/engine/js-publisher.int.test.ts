import { describe, expect, it } from 'vitest';
import { engineFixture } from '../testing/engine-fixture.ts';
import { JsPublishError, JsPublisher } from './js-publisher.ts';

/**
 * #19: a clustered stream's leader notes a Nats-Msg-Id with sequence 0 when it proposes the
 * message and sets the sequence once the message is stored. A copy published meanwhile, or after
 * the proposal was lost with a leader change, is answered "duplicate" with seq 0 by nats-server
 * 2.10 (newer servers answer an error): nothing says the message was stored, so the job must stay
 * in the retry list, not count as published. Here a responder on the subject answers as such a
 * leader does (the server's reply bytes), through a real nats-server.
 */
const t = engineFixture('js-publisher', { engine: false });

describe('JsPublisher', () => {
  it('takes a duplicate answer with sequence 0 as not stored, and a duplicate with a sequence as stored', async () => {
    const answers = ['{"stream":"SMS_JOBS","seq":0,"duplicate": true}', '{"stream":"SMS_JOBS","seq":42,"duplicate": true}'];
    let k = 0;
    const sub = t.nc.subscribe('test.dup', { callback: (_err, m) => void m.respond(answers[k++]) });
    const pub = new JsPublisher(t.nc, 5_000);
    try {
      const staged = await pub.publish('test.dup', 'job', { msgID: 'job-1' }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(staged).toBeInstanceOf(JsPublishError);
      expect((staged as Error).message).toMatch(/not stored/);
      expect(await pub.publish('test.dup', 'job', { msgID: 'job-1' })).toEqual({ stream: 'SMS_JOBS', seq: 42, duplicate: true });
    } finally {
      pub.close();
      sub.unsubscribe();
    }
  });
});
