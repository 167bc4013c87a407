import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { edgeCrossings, type EdgeHysteresis, type EdgeZone } from '@geo/infra/basics';
import { AlertTask, AlertTaskSpec } from '../contract.ts';
import { Presence } from '../presence/presence.ts';
import { circleTask, offset } from '../testing/engine-kit.ts';
import { Engine } from './engine.ts';
import { MemoryPorts } from './memory-ports.ts';

const centre: [number, number] = [121.9, 29.1];
// Two cells per zone of a 1 km circle with a 500 m buffer (a move needs a new cell).
const CELLS: Record<EdgeZone, [number, number][]> = {
  inside: [offset(centre, 950, 0), offset(centre, 0, 900)],
  near: [offset(centre, 1_100, 0), offset(centre, 0, -1_400)],
  far: [offset(centre, 1_600, 0), offset(centre, -5_000, 0)],
};

/**
 * Alerting's entries are the shared rule's: insight's inflow applies the same rule to the same
 * sightings (person-times.test "agrees with the rule"), so the two agree on any movement sequence.
 */
describe('alerting and the edge rule agree', () => {
  it('on any movement sequence, the entry time alerting keeps for dwell is the rule’s last entry', () => {
    const seq = fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.constantFrom<EdgeZone>('inside', 'near', 'far')), {
      minLength: 1,
      maxLength: 40,
    });
    const hyst = fc.oneof(
      fc.constant<EdgeHysteresis | undefined>(undefined),
      fc.record({ bufferMeters: fc.constantFrom(0, 500), minOutsideSeconds: fc.constantFrom(0, 60, 300, 600) }),
    );
    fc.assert(
      fc.property(seq, hyst, (steps, h) => {
        const t0 = Date.now() - 10 * 3600_000;
        const mem = new MemoryPorts();
        mem.time = t0;
        const engine = new Engine(mem.ports, new Presence());
        const spec = AlertTaskSpec.parse(circleTask(centre, 1_000, { frequency: 'daily', ...(h ? { hysteresis: h } : {}) }));
        engine.upsertTask(AlertTask.parse({ id: 't', version: 1, spec, state: 'running', updatedAt: t0 }));
        const rt = (engine as any).tasks.get('t');
        const sightings: [number, EdgeZone][] = [];
        let t = Math.floor(t0 / 1000),
          last = '';
        for (const [dt, zone] of steps) {
          t += dt;
          // The other cell of the zone when it is the same zone again: a move.
          let k = 0;
          if (last === `${zone}0`) k = 1;
          last = `${zone}${k}`;
          const where = CELLS[zone][k]!;
          mem.time = t * 1000;
          engine.applyEvents(
            [{ msisdn: '13900000009', carrier: 'cmcc', ts: t * 1000, cell: last, lng: where[0], lat: where[1], kind: 'handover' }],
            false,
          );
          sightings.push([t, zone]);
          const i = engine.presence.indexOf('13900000009');
          const rule = edgeCrossings(sightings, h);
          expect(rt.inside.has(i)).toBe(zone === 'inside');
          if (zone === 'inside') expect(rt.inside.enteredSec(i, engine.presence.sinceSec[i])).toBe(rule.entries[rule.entries.length - 1]);
        }
      }),
      { numRuns: 150 },
    );
  });
});
