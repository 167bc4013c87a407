import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectNats, type NatsConnection } from '@geo/infra';
import { ExtensionError, ExtensionRegistry } from './extension-numbers.ts';

/**
 * Issue 17: all tenants share one pool of reply extensions, held until the scheduled time + 7
 * days, and scheduling allows 366 days: one tenant could hold them all. Each enterprise now holds
 * at most a bounded number at once (50 here; 1,000 by default), also when it allocates from two
 * instances at the same time.
 */

const bucket = `ext_bound_${Date.now().toString(36)}`;
let nc: NatsConnection;
let nc2: NatsConnection;

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'extension-bound-test');
  nc2 = await connectNats(inject('natsUrl'), 'extension-bound-test-2');
});
afterAll(async () => {
  await nc?.drain();
  await nc2?.drain();
});

describe('reply extensions, bounded per enterprise', () => {
  it('stops one tenant trying to take the whole pool at its bound, from two instances at once, and leaves the rest to the others', async () => {
    const [a, b] = await Promise.all([
      ExtensionRegistry.open(nc, bucket, 1, undefined, 50),
      ExtensionRegistry.open(nc2, bucket, 1, undefined, 50),
    ]);
    // A year-long schedule of sends, each asking for replies: far more than its share.
    const year = 373 * 24 * 3600_000;
    const attempts = await Promise.allSettled(
      Array.from({ length: 80 }, (_, i) =>
        (i % 2 ? a : b).allocate({ enterpriseId: 'greedy', accountId: 'g', sendId: `s${i}`, liveMs: year }),
      ),
    );
    const given = attempts.filter((r) => r.status === 'fulfilled');
    const refused = attempts.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(given).toHaveLength(50);
    expect(refused).toHaveLength(30);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(ExtensionError);
      expect(r.reason).toMatchObject({
        code: 'EXTENSIONS_EXHAUSTED',
        message: expect.stringMatching(/^本企业同时占用的回复扩展码已达上限（50 个）/),
      });
    }
    expect(await a.heldBy('greedy')).toBe(50);
    // Every extension given is distinct and live.
    const exts = given.map((r) => (r as PromiseFulfilledResult<{ extension: string }>).value.extension);
    expect(new Set(exts).size).toBe(50);
    // Another tenant still gets one; the greedy one gets the same one again for a send it has.
    expect(await a.allocate({ enterpriseId: 'modest', accountId: 'm', sendId: 'm1' })).toMatchObject({ enterpriseId: 'modest' });
    const first = (given[0] as PromiseFulfilledResult<{ sendId: string; extension: string }>).value;
    expect(await b.allocate({ enterpriseId: 'greedy', accountId: 'g', sendId: first.sendId })).toMatchObject({
      extension: first.extension,
    });
    // A released extension makes room for one more.
    await a.release(first.extension);
    expect(await a.heldBy('greedy')).toBe(49);
    await expect(b.allocate({ enterpriseId: 'greedy', accountId: 'g', sendId: 'one-more' })).resolves.toMatchObject({
      enterpriseId: 'greedy',
    });
    await expect(b.allocate({ enterpriseId: 'greedy', accountId: 'g', sendId: 'too-many' })).rejects.toMatchObject({
      code: 'EXTENSIONS_EXHAUSTED',
    });
  });

  it('frees an enterprise’s places as its extensions expire', async () => {
    let now = Date.now();
    const r = await ExtensionRegistry.open(nc, `${bucket}_exp`, 1, () => now, 3);
    for (let i = 0; i < 3; i++) await r.allocate({ enterpriseId: 'e', accountId: 'a', sendId: `s${i}`, liveMs: 60_000 });
    await expect(r.allocate({ enterpriseId: 'e', accountId: 'a', sendId: 's3', liveMs: 60_000 })).rejects.toMatchObject({
      code: 'EXTENSIONS_EXHAUSTED',
    });
    now += 61_000;
    await expect(r.allocate({ enterpriseId: 'e', accountId: 'a', sendId: 's3', liveMs: 60_000 })).resolves.toMatchObject({ sendId: 's3' });
  });
});
