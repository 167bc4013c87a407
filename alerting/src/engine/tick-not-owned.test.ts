import { describe, expect, it } from 'vitest';
import { AlertTask, AlertTaskSpec } from '../contract.ts';
import { Presence, type PresenceEvent } from '../presence/presence.ts';
import { circleTask } from '../testing/engine-kit.ts';
import { NotOwnedError } from './delivery.ts';
import { Engine } from './engine.ts';
import { MemoryPorts } from './memory-ports.ts';

/**
 * #19: a tick's send that fails for people whose shard lease lapsed (NotOwnedError) must not keep
 * the tick from the other tasks: their people, held here, are sent in the same tick.
 */
describe('a tick while some people are not certainly ours', () => {
  it("sends the other task's people and still fails for those not held", async () => {
    const mem = new MemoryPorts();
    const notHeld = '13700000001';
    let engine: Engine | undefined = undefined;
    engine = new Engine({ ...mem.ports, owns: (i) => engine!.presence.msisdnOf(i) !== notHeld }, new Presence());
    const a: [number, number] = [121.7, 29.3];
    const b: [number, number] = [120.1, 30.2];
    for (const [id, centre] of [
      ['t-a', a],
      ['t-b', b],
    ] as const) {
      const spec = AlertTaskSpec.parse(circleTask(centre, 1_000));
      engine.upsertTask(AlertTask.parse({ id, version: 1, spec, state: 'running', updatedAt: mem.time }));
    }
    const ev = (m: string, at: [number, number]): PresenceEvent => ({
      msisdn: m,
      carrier: 'cmcc',
      ts: mem.time - 1000,
      cell: `c${at[0]}`,
      lng: at[0],
      lat: at[1],
      kind: 'periodic',
    });
    engine.applyEvents([ev(notHeld, a), ev('13700000002', b)], false);
    await expect(engine.tick()).rejects.toBeInstanceOf(NotOwnedError);
    expect(mem.jobs().map((j) => j.msisdn)).toEqual(['13700000002']);
  });
});
