import { afterEach, describe, expect, it, vi } from 'vitest';
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { declareRetrying, isPassingJetStreamError } from './topology.ts';
import { ensureStream } from './streams.ts';

/** What nats-server answers a stream add when the meta leader does not see enough peers yet. */
const noPeers = () =>
  new JetStreamApiError({ err_code: 10005, code: 500, description: 'no suitable peers for placement, peer offline' } as never);
const notFound = () => new JetStreamApiError({ err_code: 10059, code: 404, description: 'stream not found' } as never);

/** A manager whose stream add fails `fails()` until it gives way (a fake: no server). */
function fakeManager(addFails: () => Error | undefined) {
  const added: string[] = [];
  const jsm = {
    streams: {
      info: async () => {
        throw notFound();
      },
      add: async (cfg: { name: string }) => {
        const err = addFails();
        if (err) throw err;
        added.push(cfg.name);
        return {};
      },
    },
  } as unknown as JetStreamManager;
  return { jsm, added };
}

/** A clock moved only by the declarations' waits, and their log. */
function clock() {
  let now = 1_000_000;
  vi.spyOn(Date, 'now').mockImplementation(() => now);
  const warned: unknown[] = [];
  return {
    sleep: async (ms: number) => void (now += ms),
    log: { warn: (fields: unknown) => void warned.push(fields) },
    warned,
  };
}

afterEach(() => vi.restoreAllMocks());

describe('declaring a stream on a cluster that cannot place it yet', () => {
  it('tries again while the cluster answers "no suitable peers for placement", logging each attempt, and then declares it', async () => {
    let n = 0;
    const { jsm, added } = fakeManager(() => (++n <= 3 ? noPeers() : undefined));
    const c = clock();
    await declareRetrying('stream SMS_JOBS', () => ensureStream(jsm, { name: 'SMS_JOBS', subjects: ['sms.jobs.>'], num_replicas: 3 }), c);
    expect(added).toEqual(['SMS_JOBS']);
    expect(c.warned).toHaveLength(3);
    expect(c.warned[0]).toMatchObject({ what: 'stream SMS_JOBS', attempt: 1, err: 'no suitable peers for placement, peer offline' });
  });

  it('gives up with the last error once the bounded time is over', async () => {
    let n = 0;
    const { jsm, added } = fakeManager(() => (++n, noPeers()));
    const c = clock();
    await expect(
      declareRetrying('stream LOCATION', () => ensureStream(jsm, { name: 'LOCATION', subjects: ['loc.>'] }), { ...c, retryMs: 1000 }),
    ).rejects.toThrow(/no suitable peers/);
    expect(added).toEqual([]);
    // 250 + 500 ms waited; a third wait (1 s) would end past the deadline.
    expect(n).toBe(3);
  });

  it('fails at once on an error that does not pass on its own', async () => {
    let n = 0;
    const bad = new JetStreamApiError({
      err_code: 10052,
      code: 400,
      description: 'replicas > 1 not supported in non-clustered mode',
    } as never);
    const { jsm } = fakeManager(() => (++n, bad));
    const c = clock();
    await expect(declareRetrying('stream X', () => ensureStream(jsm, { name: 'X', subjects: ['x'] }), c)).rejects.toBe(bad);
    expect(n).toBe(1);
    expect(c.warned).toEqual([]);
  });

  it('takes no leader, no responders and late answers as passing, a bad config not', () => {
    const named = (name: string, message: string) => Object.assign(new Error(message), { name });
    expect(isPassingJetStreamError(noPeers())).toBe(true);
    expect(
      isPassingJetStreamError(
        new JetStreamApiError({ err_code: 10008, code: 503, description: 'JetStream system temporarily unavailable' } as never),
      ),
    ).toBe(true);
    expect(isPassingJetStreamError(named('JetStreamNotEnabled', 'jetstream is not enabled'))).toBe(true);
    expect(isPassingJetStreamError(named('TimeoutError', 'timeout'))).toBe(true);
    expect(isPassingJetStreamError(named('RequestError', "no responders: '$JS.API.STREAM.CREATE.X'"))).toBe(true);
    expect(isPassingJetStreamError(notFound())).toBe(false);
    expect(
      isPassingJetStreamError(
        new JetStreamApiError({
          err_code: 10058,
          code: 400,
          description: 'stream name already in use with a different configuration',
        } as never),
      ),
    ).toBe(false);
  });
});
