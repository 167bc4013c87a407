import { CARRIERS, shardOf, type Carrier } from '@geo/ingest';
import type { ReachedCells } from '../contract.ts';
import type { ClaimChunk } from './claims.ts';

/** Reached people per carrier and cell id (with the cell's position): the `cells` of a ReachedReply. */
export type ReachedByCarrier = Partial<Record<Carrier, ReachedCells>>;

/**
 * Who counts a claimed person in its answer: `shard` is the person's LOCATION shard, `instance`
 * the one that claimed them. Every instance answers and the portal sums the answers, so exactly one
 * instance must count each person: in lease mode the one holding the person's shard now (so that a
 * shard taken over keeps its counts), with static shards the one that claimed them.
 */
export type CountsFor = (shard: number, instance: string) => boolean;

interface Cell {
  carrier: number;
  id: string;
  lng: number;
  lat: number;
  count: number;
}

interface TaskReached {
  /** The claim-log sequence read up to. */
  after: number;
  /** Per (shard, claiming instance): counts per carrier and cell. */
  groups: Map<string, { shard: number; instance: string; cells: Map<string, Cell> }>;
  /** Reads of the log one at a time per task. */
  reading: Promise<unknown>;
}

/**
 * "Reached" derived from the claim log (#19): each claim chunk records where each person was when
 * claimed (`ClaimChunk.places`), so any instance can say where a task's people were messaged,
 * including those claimed by an instance that died or handed its shards over. The log is folded
 * incrementally per task (only chunks after the last one read), into counts per (shard, claiming
 * instance) and cell, so that the answer can pick whose people to count as shards move.
 */
export class ReachedLog {
  private readonly tasks = new Map<string, TaskReached>();

  constructor(private readonly since: (taskId: string, after: number) => AsyncIterable<{ seq: number; chunk: ClaimChunk }>) {}

  /** The people of `taskId` claimed so far that `counts` picks, per carrier and cell. */
  async cells(taskId: string, counts: CountsFor): Promise<ReachedByCarrier> {
    let t = this.tasks.get(taskId);
    if (!t) this.tasks.set(taskId, (t = { after: 0, groups: new Map(), reading: Promise.resolve() }));
    const task = t;
    const read = task.reading.then(() => this.readOn(taskId, task));
    task.reading = read.catch(() => undefined);
    await read;
    const out: ReachedByCarrier = {};
    // One cell of one carrier may be counted by several groups: summed per (carrier, id, position).
    const sums = new Map<string, Cell>();
    for (const g of task.groups.values()) {
      if (!counts(g.shard, g.instance)) continue;
      for (const [key, c] of g.cells) {
        const s = sums.get(key);
        if (s) s.count += c.count;
        else sums.set(key, { ...c });
      }
    }
    for (const c of sums.values()) {
      const o = (out[CARRIERS[c.carrier]!] ??= { ids: [], lng: [], lat: [], count: [] });
      o.ids.push(c.id);
      o.lng.push(c.lng);
      o.lat.push(c.lat);
      o.count.push(c.count);
    }
    return out;
  }

  /** Forgets a task (no longer tracked). */
  forget(taskId: string): void {
    this.tasks.delete(taskId);
  }

  private async readOn(taskId: string, t: TaskReached): Promise<void> {
    for await (const { seq, chunk } of this.since(taskId, t.after)) {
      t.after = Math.max(t.after, seq);
      const { places, place } = chunk;
      if (!places || !place) continue; // written before chunks recorded places
      for (let k = 0; k < chunk.msisdns.length; k++) {
        const at = place[k]!;
        if (at < 0 || at >= places.ids.length) continue;
        const shard = shardOf(chunk.msisdns[k]!);
        const gk = `${shard}:${chunk.instance}`;
        let g = t.groups.get(gk);
        if (!g) t.groups.set(gk, (g = { shard, instance: chunk.instance, cells: new Map() }));
        const carrier = Number(chunk.carriers[k]);
        const key = `${carrier}:${places.ids[at]}:${places.lng[at]}:${places.lat[at]}`;
        const c = g.cells.get(key);
        if (c) c.count++;
        else g.cells.set(key, { carrier, id: places.ids[at]!, lng: places.lng[at]!, lat: places.lat[at]!, count: 1 });
      }
    }
  }
}
