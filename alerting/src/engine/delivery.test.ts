import { describe, expect, it } from 'vitest';
import { CARRIERS } from '@geo/ingest';
import { AlertTask, AlertTaskSpec } from '../contract.ts';
import { Presence, type PresenceEvent } from '../presence/presence.ts';
import { shanghaiDay } from '../rules/shanghai-time.ts';
import { circleTask, offset } from '../testing/engine-kit.ts';
import { NotOwnedError } from './delivery.ts';
import { Engine } from './engine.ts';
import { MemoryPorts } from './memory-ports.ts';

const centre: [number, number] = [121.7, 29.3];

/** 300 people in the region, an engine over in-memory ports with small claim chunks. */
function setup(owns?: (i: number) => boolean) {
  const mem = new MemoryPorts();
  const engine = new Engine({ ...mem.ports, claimChunk: 7, jobBatch: 3, owns }, new Presence());
  const people: string[] = [];
  const evs: PresenceEvent[] = [];
  for (let k = 0; k < 300; k++) {
    const m = `137${String(k).padStart(8, '0')}`;
    people.push(m);
    const [lng, lat] = offset(centre, (k % 20) * 10, (k % 15) * 10);
    evs.push({ msisdn: m, carrier: CARRIERS[k % 3], ts: mem.time - 1000, cell: `d${k % 37}`, lng, lat, kind: 'periodic' });
  }
  engine.applyEvents(evs, false);
  const spec = AlertTaskSpec.parse(circleTask(centre, 1_000));
  engine.upsertTask(AlertTask.parse({ id: 't-d', version: 1, spec, state: 'running', updatedAt: mem.time }));
  return { mem, engine, people };
}

describe('delivery of a task start', () => {
  it('claims everyone once in chunks, each person’s job in the right carrier’s messages, every reservation used', async () => {
    const { mem, engine, people } = setup();
    expect(await engine.activate('t-d')).toBe(300);
    const claimed = mem.chunks.flatMap((c) => c.chunk.msisdns);
    expect(claimed.sort()).toEqual([...people].sort());
    expect(Math.max(...mem.chunks.map((c) => c.chunk.msisdns.length))).toBe(7);
    const jobs = mem.jobs();
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...people].sort());
    for (const j of jobs) expect(j.carrier).toBe(CARRIERS[Number(j.msisdn.slice(3)) % 3]);
    const day = shanghaiDay(mem.time);
    for (const c of CARRIERS) expect(mem.used.get(`t-d:${c}:${day}`)).toBe(100);
    // Where each was: one place per person, from the chunk's table of cells.
    for (const { chunk } of mem.chunks) expect(chunk.place!.every((p) => p >= 0 && p < chunk.places!.ids.length)).toBe(true);
  });

  it('claims nobody of a shard it no longer holds, checked before each chunk, gives their reservations back and fails for them', async () => {
    let lost = false;
    // Shard "lost" after the first chunks: every fifth person belongs to it.
    const { mem, engine, people } = setup((i) => !(lost && i % 5 === 0));
    const append = mem.ports.claims.append;
    let appends = 0;
    mem.ports.claims.append = async (s, c) => {
      if (++appends === 3) lost = true;
      return append(s, c);
    };
    // Those left out are not done with (#19): the send fails for them, so that their message is not acked.
    await expect(engine.activate('t-d')).rejects.toBeInstanceOf(NotOwnedError);
    const claimed = new Set(mem.chunks.flatMap((c) => c.chunk.msisdns));
    expect(claimed.size).toBe(mem.chunks.reduce((n, c) => n + c.chunk.msisdns.length, 0));
    expect(claimed.size).toBeLessThan(300);
    // Everyone of the held shards is claimed; of the lost shard only those claimed before it was lost.
    const idx = (m: string) => people.indexOf(m);
    for (const m of people) if (idx(m) % 5 !== 0) expect(claimed.has(m)).toBe(true);
    const day = shanghaiDay(mem.time);
    const used = CARRIERS.reduce((n, c) => n + (mem.used.get(`t-d:${c}:${day}`) ?? 0), 0);
    expect(used).toBe(claimed.size);
    expect(mem.jobs()).toHaveLength(claimed.size);
    // Held again: those left out were given back (not marked sent), and are sent now, once.
    lost = false;
    await engine.activate('t-d');
    const all = mem.chunks.flatMap((c) => c.chunk.msisdns);
    expect(all.sort()).toEqual([...people].sort());
  });
});
