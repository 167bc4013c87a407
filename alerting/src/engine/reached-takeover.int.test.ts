import { describe, expect, it } from 'vitest';
import { REACHED_SUBJECT, ReachedReply } from '../contract.ts';
import { engineFixture, requestAll } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, until } from '../testing/engine-kit.ts';

/**
 * "Reached" (where a task's people were when messaged) after a shard changes owner (#19): the
 * survivor answers for the people of the shards it holds now, also those the previous owner sent.
 * Its own nats-server: the answer is summed over every instance that replies.
 */
const t = engineFixture('reached', { engine: false });
const CARRIERS = ['cmcc', 'cucc', 'ctcc'] as const;

/** Every instance's reply, and the counts summed per carrier and cell id. */
async function reached(taskId: string): Promise<{ replies: ReachedReply[]; cells: Map<string, number>; total: number }> {
  const replies = await requestAll(t.nc, REACHED_SUBJECT, { v: 1, taskId }, (m) => ReachedReply.parse(m), 3_000);
  const cells = new Map<string, number>();
  let total = 0;
  for (const r of replies)
    for (const c of CARRIERS) {
      const x = r.cells[c];
      if (!x) continue;
      x.ids.forEach((id, k) => {
        cells.set(`${c}:${id}`, (cells.get(`${c}:${id}`) ?? 0) + x.count[k]!);
        total += x.count[k]!;
      });
    }
  return { replies, cells, total };
}

const holdsAll = async (instance: string) => {
  const { replies } = await reached('none');
  return replies.some((r) => r.instance === instance && r.shards.length === 8);
};

describe('reached after a takeover', () => {
  it('answers, on the instance that took the shards over, for the people its predecessor sent, in the cells they were in', async () => {
    const leases = { ttlMs: 1_500 };
    const a = await t.startEngine('reached-a', { leases });
    await until('a holds every shard', () => holdsAll('reached-a'));

    const centre: [number, number] = [93, 41];
    const people = numbers(240);
    // 24 cells (one carrier each), 10 people each.
    await publishEvents(
      t.nc,
      people.map((m, i) => event(m, CARRIERS[i % 3], offset(centre, (i % 24) * 50, 0))),
    );
    await until('a has seen everyone', () => people.every((m) => a.engine.presence.indexOf(m) >= 0));
    const store = await t.taskStore();
    await store.submit('t-reached', circleTask(centre, 5_000));
    await until('everyone sent', async () => (await jobsOf(t.nc, 't-reached')).length >= people.length);
    const jobs = await jobsOf(t.nc, 't-reached');
    expect(jobs).toHaveLength(people.length);
    const first = await reached('t-reached');
    expect(first.total).toBe(people.length);
    expect(first.cells.size).toBe(24);

    const b = await t.startEngine('reached-b', { leases });
    await a.stop();
    await until('b holds every shard', () => holdsAll('reached-b'), 30_000);
    await until('b tracks the task', () => b.engine.task('t-reached')?.state === 'running');

    const after = await reached('t-reached');
    expect(after.replies.map((r) => r.instance)).toEqual(['reached-b']);
    expect(after.total).toBe(jobs.length);
    expect(after.cells).toEqual(first.cells);
  });
});
