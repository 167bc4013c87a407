import { describe, expect, it } from 'vitest';
import { shardOf } from '@geo/ingest';
import { claimChunk, type ClaimChunk } from './claims.ts';
import { ReachedLog } from './reached.ts';

const places = { ids: ['c-1', 'c-2'], lng: [120.1, 120.2], lat: [30.1, 30.2] };
const m = (k: number) => `139${String(k).padStart(8, '0')}`;

describe('reached from the claim log', () => {
  const log: { seq: number; chunk: ClaimChunk }[] = [];
  const add = (instance: string, people: number[], of: number[]) =>
    log.push({
      seq: log.length + 1,
      chunk: claimChunk(
        `${instance}-${log.length}`,
        instance,
        1,
        people.map((k) => ({ msisdn: m(k), carrier: 'cmcc' as const })),
        100,
        undefined,
        { ...places, of },
      ),
    });
  let reads = 0;
  const reached = new ReachedLog(async function* (_task, after) {
    reads++;
    for (const e of log) if (e.seq > after) yield e;
  });

  it('counts each claimed person once in the cell they were claimed in, for whoever the picker chooses, reading only new chunks', async () => {
    add('a', [1, 2, 3], [0, 0, 1]);
    add('b', [4, 5], [1, -1]);
    // An older chunk without places: nobody of it can be placed.
    log.push({ seq: 3, chunk: claimChunk('old', 'a', 1, [{ msisdn: m(6), carrier: 'ctcc' }]) });
    expect(await reached.cells('t', () => true)).toEqual({
      cmcc: { ids: ['c-1', 'c-2'], lng: [120.1, 120.2], lat: [30.1, 30.2], count: [2, 2] },
    });
    // Static shards: what one instance claimed.
    expect((await reached.cells('t', (_s, by) => by === 'b')).cmcc?.count).toEqual([1]);
    // Leases: the shards held now, whoever claimed.
    const shards = new Set([shardOf(m(1)), shardOf(m(4))]);
    const want = [1, 2, 3, 4].filter((k) => shards.has(shardOf(m(k)))).length;
    const got = await reached.cells('t', (s) => shards.has(s));
    expect((got.cmcc?.count ?? []).reduce((a, b) => a + b, 0)).toBe(want);
    add('a', [7], [1]);
    const before = reads;
    expect((await reached.cells('t', () => true)).cmcc?.count).toEqual([2, 3]);
    expect(reads).toBe(before + 1);
  });
});
