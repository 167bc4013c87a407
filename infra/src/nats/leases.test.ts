import { describe, expect, it } from 'vitest';
import { assignShards, preferredOwner } from './leases.ts';

const shards = ['cmcc', 'cucc', 'ctcc'].flatMap((c) => Array.from({ length: 8 }, (_, i) => `${c}-${i}`));

describe('rendezvous hashing of shards to instances', () => {
  it('gives every shard to exactly one member, and all members the same answer whatever their order', () => {
    const a = shards.map((s) => preferredOwner(s, ['a', 'b', 'c']));
    const b = shards.map((s) => preferredOwner(s, ['c', 'a', 'b']));
    expect(a).toEqual(b);
    expect(new Set(a)).toEqual(new Set(['a', 'b', 'c']));
  });

  it('spreads 24 shards over 2 or 3 members without leaving one idle or hoarding', () => {
    for (const members of [
      ['alerting-1', 'alerting-2'],
      ['alerting-1', 'alerting-2', 'alerting-3'],
    ]) {
      const counts = new Map<string, number>();
      for (const s of shards) counts.set(preferredOwner(s, members)!, (counts.get(preferredOwner(s, members)!) ?? 0) + 1);
      for (const m of members) expect(counts.get(m) ?? 0).toBeGreaterThanOrEqual(Math.floor(shards.length / members.length / 2));
    }
  });

  it('moves only the shards the joining member wins, and only those of the leaving one', () => {
    const two = new Map(shards.map((s) => [s, preferredOwner(s, ['a', 'b'])]));
    const three = new Map(shards.map((s) => [s, preferredOwner(s, ['a', 'b', 'c'])]));
    for (const s of shards) if (three.get(s) !== 'c') expect(three.get(s)).toBe(two.get(s));
    const without = new Map(shards.map((s) => [s, preferredOwner(s, ['a', 'c'])]));
    for (const s of shards) if (three.get(s) !== 'b') expect(without.get(s)).toBe(three.get(s));
  });

  it('has no owner without members', () => {
    expect(preferredOwner('cmcc-0', [])).toBeUndefined();
  });
});

describe('even balancing of shards (bounded-load rendezvous)', () => {
  it('gives each member at most ceil(shards / members), every shard one owner, the same answer in any member order', () => {
    for (const n of [1, 2, 3, 4, 5, 8, 24])
      for (const members of [['a'], ['a', 'b'], ['a', 'b', 'c'], ['m1', 'm2', 'm3', 'm4', 'm5']]) {
        const some = shards.slice(0, n);
        const got = assignShards(some, members, 'even');
        expect([...got.keys()].sort()).toEqual([...some].sort());
        const load = new Map<string, number>();
        for (const m of got.values()) load.set(m, (load.get(m) ?? 0) + 1);
        for (const c of load.values()) expect(c).toBeLessThanOrEqual(Math.ceil(n / members.length));
        expect(assignShards(some, [...members].reverse(), 'even')).toEqual(got);
      }
  });

  it('splits four bind slots 2 + 2 between two instances, where hashing alone may give one of them all four', () => {
    const slots = ['cmcc-0', 'cmcc-1', 'cmcc-2', 'cmcc-3'];
    // Find member names for which rendezvous hashing alone is lopsided, then check even mode fixes it.
    let lopsided: string[] | undefined;
    for (let i = 0; i < 200 && !lopsided; i++) {
      const members = [`messaging-${i}`, `messaging-${i + 1000}`];
      const counts = new Set(slots.map((s) => preferredOwner(s, members)));
      if (counts.size === 1) lopsided = members;
    }
    expect(lopsided).toBeDefined();
    const got = assignShards(slots, lopsided!, 'even');
    const load = [...got.values()].reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
    expect([...load.values()]).toEqual([2, 2]);
  });

  it('is rendezvous hashing itself in hash mode', () => {
    expect(assignShards(shards, ['a', 'b', 'c'])).toEqual(new Map(shards.map((s) => [s, preferredOwner(s, ['a', 'b', 'c'])])));
    expect(assignShards(shards, []).size).toBe(0);
  });
});

describe('shards declined by a member (its onAcquired failed)', () => {
  const declining = (who: string, which: Set<string>) => (m: string, s: string) => m === who && which.has(s);

  it('gives a declined shard to another member and leaves every other shard where it was', () => {
    for (const balance of ['hash', 'even'] as const) {
      const before = assignShards(shards, ['a', 'b', 'c'], balance);
      const aHas = shards.filter((s) => before.get(s) === 'a');
      const out = new Set(aHas.slice(0, 2));
      const after = assignShards(shards, ['a', 'b', 'c'], balance, declining('a', out));
      for (const s of shards) {
        if (out.has(s)) expect([s, after.get(s)]).not.toEqual([s, 'a']);
        else if (balance === 'hash') expect(after.get(s)).toBe(before.get(s));
      }
      expect([...after.keys()].sort()).toEqual([...shards].sort());
    }
  });

  it('still gives a shard every member declines to someone, the same one whatever the order', () => {
    const all = (_m: string, s: string) => s === 'cmcc-0';
    for (const balance of ['hash', 'even'] as const) {
      const got = assignShards(shards, ['a', 'b'], balance, all);
      expect(got.get('cmcc-0')).toBe(assignShards(shards, ['b', 'a'], balance, all).get('cmcc-0'));
      expect(['a', 'b']).toContain(got.get('cmcc-0'));
    }
  });

  it('in even mode gives every shard an owner even when declines leave its only takers full', () => {
    const slots = ['cmcc-0', 'cmcc-1', 'cmcc-2', 'cmcc-3'];
    // b declines three slots: a may hold at most 2 by the cap, yet all four must be owned.
    const got = assignShards(slots, ['a', 'b'], 'even', declining('b', new Set(slots.slice(0, 3))));
    expect([...got.keys()].sort()).toEqual(slots);
    for (const s of slots.slice(0, 3)) expect(got.get(s)).toBe('a');
  });
});
