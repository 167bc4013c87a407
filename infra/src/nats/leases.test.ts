import { describe, expect, it } from 'vitest';
import { preferredOwner } from './leases.ts';

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
