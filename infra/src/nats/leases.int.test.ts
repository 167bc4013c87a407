import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AckPolicy } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { connectNats, type NatsConnection } from './connect.ts';
import { currentLeaseEpoch, LeaseManager, preferredOwner } from './leases.ts';
import { ensureKv, jetstreamManager } from './streams.ts';
import { until, untilValue } from '../testing/until.ts';

/**
 * Shard leases against a real nats-server (issue 19): every shard has exactly one owner, owners
 * balance as instances join and leave, a crashed owner's shards are taken over after the lease
 * expires, and a paused owner that wakes up is fenced off.
 */
const SHARDS = ['cmcc', 'cucc', 'ctcc'].flatMap((c) => Array.from({ length: 8 }, (_, i) => `${c}-${i}`));
const TTL = 1500;
const RENEW = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Span {
  shard: string;
  instance: string;
  epoch: number;
  from: number;
  to?: number;
}

let nc: NatsConnection;
let kv: KV;
let bucketN = 0;

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'leases-int');
});
afterAll(async () => {
  await nc?.close();
});

/** A fresh bucket, and managers that record when each held which shard. */
async function group() {
  kv = await ensureKv(nc, `leases_int_${process.pid}_${bucketN++}`);
  const spans: Span[] = [];
  const managers = new Map<string, LeaseManager>();
  const add = (instance: string) => {
    const m = new LeaseManager({
      kv,
      group: 'alerting',
      shards: SHARDS,
      instance,
      ttlMs: TTL,
      renewMs: RENEW,
      onAcquired: (shard, epoch) => void spans.push({ shard, instance, epoch, from: Date.now() }),
      onLost: (shard, epoch) => {
        const s = spans.find((x) => x.shard === shard && x.instance === instance && x.epoch === epoch && x.to === undefined);
        if (s) s.to = Date.now();
      },
    });
    managers.set(instance, m);
    m.start();
    return m;
  };
  /** Who owns each shard now, by the managers' own account. */
  const owners = () => {
    const out = new Map<string, string[]>();
    for (const [id, m] of managers) for (const s of m.owned().keys()) out.set(s, [...(out.get(s) ?? []), id]);
    return out;
  };
  /** Resolves with the time every shard had one owner among `live` and each of them owned some. */
  const settled = (live: string[], timeoutMs: number) =>
    untilValue(
      `shards settled on ${live.join(', ')}`,
      () => {
        const o = owners();
        const ok =
          SHARDS.every((s) => o.get(s)?.length === 1 && live.includes(o.get(s)![0]!)) &&
          live.every((id) => [...o.values()].some((v) => v[0] === id));
        // Thrown rather than undefined so that the timeout message shows who owned what.
        if (!ok) throw new Error(`owners ${JSON.stringify([...o])}`);
        return Date.now();
      },
      timeoutMs,
    );
  /** No two instances held one shard at once (a crashed owner's span ends when its lease lapsed). */
  const overlaps = () => {
    const bad: string[] = [];
    for (const a of spans)
      for (const b of spans) {
        if (a === b || a.shard !== b.shard || a.instance === b.instance || a.from > b.from) continue;
        if ((a.to ?? Infinity) > b.from)
          bad.push(`${a.shard}: ${a.instance}#${a.epoch} until ${a.to ?? 'now'} and ${b.instance}#${b.epoch} from ${b.from}`);
      }
    return bad;
  };
  const stopAll = async () => {
    for (const m of managers.values()) await m.stop();
  };
  return { spans, managers, add, owners, settled, overlaps, stopAll };
}

describe('shard leases in a KV bucket', () => {
  it('shares the shards out between instances as they join and leave, each shard always owned exactly once', async () => {
    const g = await group();
    try {
      g.add('a');
      g.add('b');
      await g.settled(['a', 'b'], 5_000);
      g.add('c');
      await g.settled(['a', 'b', 'c'], 5_000);
      // A graceful leave hands its shards over at the others' next tick, not after the ttl.
      const t = Date.now();
      await g.managers.get('b')!.stop();
      g.managers.delete('b');
      const done = await g.settled(['a', 'c'], 5_000);
      expect(done - t).toBeLessThan(TTL + 4 * RENEW);
      expect(g.overlaps()).toEqual([]);
      // Every handover raised the shard's epoch.
      for (const s of SHARDS) {
        const epochs = g.spans.filter((x) => x.shard === s).map((x) => x.epoch);
        expect(epochs).toEqual([...epochs].sort((x, y) => x - y));
        expect(new Set(epochs).size).toBe(epochs.length);
      }
    } finally {
      await g.stopAll();
    }
  });

  it('takes over the shards of a crashed instance once its leases expire, at a higher epoch', async () => {
    const g = await group();
    try {
      g.add('a');
      const b = g.add('b');
      await g.settled(['a', 'b'], 5_000);
      const bShards = new Map(b.owned());
      expect(bShards.size).toBeGreaterThan(0);
      const crashedAt = Date.now();
      b.abandon(); // as kill -9: no release, no leaving
      g.managers.delete('b');
      // The crashed owner's own claim ends when its lease lapses by its own clock (its last renewal
      // + ttl − margin, not the crash + ttl: it would have stopped by itself then).
      for (const s of g.spans) if (s.instance === 'b' && s.to === undefined) s.to = b.validUntil(s.shard) ?? crashedAt;
      const done = await g.settled(['a'], 10_000);
      expect(done - crashedAt).toBeLessThan(TTL + 6 * RENEW);
      for (const [shard, epoch] of bShards) expect(await currentLeaseEpoch(kv, 'alerting', shard)).toBe(epoch + 1);
      expect(g.overlaps()).toEqual([]);
    } finally {
      await g.stopAll();
    }
  });

  it('fences off a paused owner that wakes up after another took its shards over', async () => {
    const g = await group();
    try {
      const a = g.add('a');
      await g.settled(['a'], 5_000);
      const before = new Map(a.owned());
      const pausedAt = Date.now();
      a.abandon(); // paused: no ticks, nothing released
      // While paused, a's own view lapses at its last renewal + ttl − margin: its work would have
      // stopped then (fence undefined). (Taking the pause + ttl instead was wrong by up to a renewal,
      // and at load a takeover fell inside that: CI saw b's spans begin 9 ms before it.)
      for (const s of g.spans) if (s.instance === 'a' && s.to === undefined) s.to = a.validUntil(s.shard) ?? pausedAt;
      g.add('b');
      await g.settled(['b'], 10_000);
      for (const shard of before.keys()) expect(a.fence(shard)).toBeUndefined();
      // A receiver comparing epochs refuses what the old owner would write.
      for (const [shard, epoch] of before) expect(await currentLeaseEpoch(kv, 'alerting', shard)).toBeGreaterThan(epoch);
      // Waking up, it gives the old leases up (it never renews them) and rejoins: the shards are
      // balanced between the two again, each taken at a new epoch.
      a.start();
      await g.settled(['a', 'b'], 10_000);
      for (const [shard, epoch] of a.owned()) expect(epoch).toBeGreaterThan(before.get(shard)!);
      expect(g.overlaps()).toEqual([]);
    } finally {
      await g.stopAll();
    }
  });

  it('keeps renewing the shards it keeps while a slow hand-over of others is still stopping their work', async () => {
    kv = await ensureKv(nc, `leases_int_${process.pid}_${bucketN++}`);
    const reasons: string[] = [];
    const mk = (instance: string, slowMs: number) =>
      new LeaseManager({
        kv,
        group: 'slow',
        shards: SHARDS,
        instance,
        ttlMs: TTL,
        renewMs: RENEW,
        onLost: async (shard, _epoch, reason) => {
          if (instance === 'a') reasons.push(`${shard}:${reason}`);
          if (reason === 'rebalance') await sleep(slowMs);
        },
      });
    const a = mk('a', 3 * TTL);
    const b = mk('b', 0);
    try {
      a.start();
      await until('a owns every shard', () => a.owned().size === SHARDS.length, 5_000);
      expect(a.owned().size).toBe(SHARDS.length);
      b.start();
      // While a's hand-overs wait 4.5 s in onLost, the shards it keeps must stay held (renewed in time).
      const keeps = new Set(SHARDS.filter((s) => preferredOwner(s, ['a', 'b']) === 'a'));
      const end = Date.now() + 4 * TTL;
      while (Date.now() < end) {
        await sleep(100);
        for (const s of keeps) expect([s, a.fence(s) !== undefined]).toEqual([s, true]);
      }
      expect(reasons.filter((r) => !r.endsWith(':rebalance'))).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('in even mode splits the shards between two instances within one of ceil(n / 2)', async () => {
    kv = await ensureKv(nc, `leases_int_${process.pid}_${bucketN++}`);
    const slots = ['cmcc-0', 'cmcc-1', 'cmcc-2', 'cmcc-3'];
    const ms = ['x', 'y'].map(
      (instance) => new LeaseManager({ kv, group: 'even', shards: slots, instance, ttlMs: TTL, renewMs: RENEW, balance: 'even' }),
    );
    try {
      for (const m of ms) m.start();
      await until('two shards each', () => ms.every((m) => m.owned().size === 2), 8_000);
      expect(ms.map((m) => m.owned().size)).toEqual([2, 2]);
    } finally {
      await Promise.all(ms.map((m) => m.stop()));
    }
  });
});

describe('a lease whose onAcquired fails', () => {
  /**
   * Managers that record which shards they work (onAcquired returned), failing the first
   * onAcquired of `failing` on instance `failsOn`.
   */
  function working(group: string, failsOn: string, failing: string) {
    const worked = new Map<string, Map<string, number>>();
    const failures: { instance: string; shard: string; epoch: number; at: number }[] = [];
    const taken: { instance: string; shard: string; epoch: number; at: number }[] = [];
    const mk = (instance: string) => {
      worked.set(instance, new Map());
      return new LeaseManager({
        kv,
        group,
        shards: SHARDS,
        instance,
        ttlMs: TTL,
        renewMs: RENEW,
        onAcquired: async (shard, epoch) => {
          await sleep(5);
          if (instance === failsOn && shard === failing && !failures.length) {
            failures.push({ instance, shard, epoch, at: Date.now() });
            throw new Error('restoring the shard failed');
          }
          taken.push({ instance, shard, epoch, at: Date.now() });
          worked.get(instance)!.set(shard, epoch);
        },
        onLost: (shard) => void worked.get(instance)!.delete(shard),
      });
    };
    /** Throws (for until's message) unless every shard is held by exactly one of `ms` and worked by it at the held epoch. */
    const allWorked = (ms: Map<string, LeaseManager>) => {
      for (const s of SHARDS) {
        const holders = [...ms].filter(([, m]) => m.fence(s) !== undefined);
        if (holders.length !== 1) throw new Error(`${s} held by ${holders.map(([id]) => id).join(', ') || 'nobody'}`);
        const [id, m] = holders[0]!;
        if (worked.get(id)!.get(s) !== m.fence(s)) throw new Error(`${s} held by ${id} at epoch ${m.fence(s)} but not worked`);
      }
      return true;
    };
    return { mk, worked, failures, taken, allWorked };
  }

  it('gives the lease back and takes it again later, so that the shard is worked (one instance)', async () => {
    kv = await ensureKv(nc, `leases_int_${process.pid}_${bucketN++}`);
    const w = working('fail1', 'a', 'cucc-3');
    const a = w.mk('a');
    try {
      a.start();
      await until('a failed to start cucc-3', () => w.failures.length === 1, 5_000);
      // Handed back at once: the lease is free for anyone while a waits before trying again.
      await until('cucc-3 released', async () => (await kv.get('lease.fail1.cucc-3'))?.json<{ owner: string }>().owner === '', 5_000);
      expect(a.fence('cucc-3')).toBeUndefined();
      await until('every shard worked by its holder', () => w.allWorked(new Map([['a', a]])), 10_000);
      // Taken again at a new epoch (the failed one is never used for work).
      const again = w.taken.find((t) => t.shard === 'cucc-3')!;
      expect(again.epoch).toBe(w.failures[0]!.epoch + 1);
    } finally {
      await a.stop();
    }
  });

  it('lets another instance work the shard while the failing one waits to try again, then takes it back', async () => {
    kv = await ensureKv(nc, `leases_int_${process.pid}_${bucketN++}`);
    const failing = SHARDS.find((s) => preferredOwner(s, ['a', 'b']) === 'a')!;
    const w = working('fail2', 'a', failing);
    const b = w.mk('b');
    const a = w.mk('a');
    const ms = new Map([
      ['a', a],
      ['b', b],
    ]);
    try {
      b.start();
      await until('b works every shard', () => w.allWorked(new Map([['b', b]])), 5_000);
      a.start();
      await until(`a failed to start ${failing}`, () => w.failures.length === 1, 8_000);
      const failedAt = w.failures[0]!.at;
      // b works it meanwhile (a said it declines it for now), at a higher epoch than a's failed one.
      const byB = await untilValue(
        `b works ${failing} again`,
        () => w.taken.find((t) => t.shard === failing && t.instance === 'b' && t.at > failedAt),
        8_000,
      );
      expect(byB.epoch).toBeGreaterThan(w.failures[0]!.epoch);
      // Then a takes its shard back and works it; every shard is worked by its one holder.
      await until(`a works ${failing}`, () => w.worked.get('a')!.has(failing), 10_000);
      await until('every shard worked by its holder', () => w.allWorked(ms), 10_000);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('what a lease tick costs the server', () => {
  it('creates no consumer per tick (kv.keys() opened one each time: 30 a minute per manager at the default ttl)', async () => {
    const bucket = `leases_int_${process.pid}_${bucketN++}`;
    kv = await ensureKv(nc, bucket);
    const stream = `KV_${bucket}`;
    const created: string[] = [];
    const sub = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.CREATED.${stream}.>`, { callback: (_e, m) => void created.push(m.subject) });
    const ms = ['a', 'b'].map((instance) => new LeaseManager({ kv, group: 'cost', shards: SHARDS, instance, ttlMs: 60_000 }));
    try {
      await nc.flush();
      for (let i = 0; i < 10; i++) for (const m of ms) await m.tick();
      expect(ms.map((m) => m.owned().size).reduce((x, y) => x + y)).toBe(SHARDS.length);
      expect(ms.every((m) => m.liveMembers().length === 2)).toBe(true);
      // A consumer of our own marks the end: advisories come in order, so once its own is here,
      // every consumer the ticks created has been announced.
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.add(stream, { name: 'marker', ack_policy: AckPolicy.None });
      await until('the marker consumer announced', () => created.some((s) => s.endsWith('.marker')), 10_000);
      expect(created.filter((s) => !s.endsWith('.marker'))).toEqual([]);
    } finally {
      sub.unsubscribe();
      await Promise.all(ms.map((m) => m.stop()));
    }
  });
});
