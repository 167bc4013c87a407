import { describe, expect, it } from 'vitest';
import { AlertTask, AlertTaskSpec } from '../contract.ts';
import { Presence, type PresenceEvent } from '../presence/presence.ts';
import { circleTask, offset } from '../testing/engine-kit.ts';
import { Engine } from './engine.ts';
import { MemoryPorts } from './memory-ports.ts';

const centre: [number, number] = [121.7, 29.3];

/**
 * #19: a take-over's replay evaluates the events past the ack floor and chooses (marks as being
 * sent) who qualified there; when the take-over is then given up before sending them (the replay
 * failed part-way, or the lease went meanwhile), the shard's people are forgotten and the next
 * take-over replays the same events. People still marked were passed over by that replay and sent
 * by nobody; given back (`unmark`), they are chosen again.
 */
describe('a take-over given up between its replay and its sending', () => {
  it('chooses the same people again on the next replay once they are given back', () => {
    const mem = new MemoryPorts();
    const engine = new Engine(mem.ports, new Presence());
    const spec = AlertTaskSpec.parse(circleTask(centre, 1_000));
    engine.upsertTask(AlertTask.parse({ id: 't-r', version: 1, spec, state: 'running', updatedAt: mem.time }));
    const ev = (m: string, at: [number, number], ts: number): PresenceEvent => ({
      msisdn: m,
      carrier: 'cmcc',
      ts,
      cell: `c${at[0].toFixed(5)}`,
      lng: at[0],
      lat: at[1],
      kind: 'periodic',
    });
    // Walked in, then out again: only the first event qualifies them.
    const walk = ['13700000001', '13700000002'].flatMap((m) => [
      ev(m, centre, mem.time - 2_000),
      ev(m, offset(centre, 5_000, 0), mem.time - 1_000),
    ]);
    const first = engine.applyEvents(walk, true);
    expect(first.map((c) => engine.presence.msisdnOf(c.i)).sort()).toEqual(['13700000001', '13700000002']);
    // Given up: forgotten (as a lost lease does) — still marked, the next replay passes them over.
    engine.forget(() => true);
    expect(engine.applyEvents(walk, true)).toEqual([]);
    engine.forget(() => true);
    // Given back, they are chosen again.
    engine.unmark(first);
    expect(
      engine
        .applyEvents(walk, true)
        .map((c) => engine.presence.msisdnOf(c.i))
        .sort(),
    ).toEqual(['13700000001', '13700000002']);
  });
});
