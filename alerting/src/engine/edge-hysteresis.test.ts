import { describe, expect, it } from 'vitest';
import type { EdgeHysteresis } from '@geo/infra/basics';
import { AlertTask, AlertTaskSpec, type AlertTaskSpecInput } from '../contract.ts';
import { Presence, type PresenceEvent } from '../presence/presence.ts';
import { circleTask, offset } from '../testing/engine-kit.ts';
import { Engine } from './engine.ts';
import { MemoryPorts } from './memory-ports.ts';
import { haloRegion } from './edge-zones.ts';
import { compileRegion } from '../geofence/point-in-region.ts';

const centre: [number, number] = [121.9, 29.1];
const MIN = 60_000;
const HYST: EdgeHysteresis = { bufferMeters: 500, minOutsideSeconds: 300 };
const inside = offset(centre, 950, 0),
  near = offset(centre, 1_050, 0),
  far = offset(centre, 5_000, 0);

/** One engine on a clock the test moves, one task per spec (a 1 km circle), all running. */
function engineWith(specs: Record<string, Partial<AlertTaskSpecInput>>, time: number) {
  const mem = new MemoryPorts();
  mem.time = time;
  const engine = new Engine(mem.ports, new Presence());
  for (const [id, over] of Object.entries(specs))
    engine.upsertTask(
      AlertTask.parse({ id, version: 1, spec: AlertTaskSpec.parse(circleTask(centre, 1_000, over)), state: 'running', updatedAt: time }),
    );
  /** Applies one event at its own time (the clock moves there), then ticks. */
  const step = async (msisdn: string, where: [number, number], ts: number) => {
    mem.time = ts;
    const ev: PresenceEvent = {
      msisdn,
      carrier: 'cmcc',
      ts,
      cell: `c-${where[0].toFixed(5)}`,
      lng: where[0],
      lat: where[1],
      kind: 'handover',
    };
    await engine.sendSoon(engine.applyEvents([ev], true));
    await engine.tick();
  };
  const sentTo = (task: string) => mem.jobs().filter((j) => j.sendId === task).length;
  return { mem, engine, step, sentTo };
}

describe('edge hysteresis in alerting', () => {
  it('a person jittering across the edge every 30 s for 10 minutes: one entry with hysteresis (dwell reached, one SMS), many without (dwell never reached)', async () => {
    const t0 = Date.now() - 60 * MIN;
    const { engine, step, sentTo } = engineWith(
      {
        plain: { frequency: 'daily' },
        'plain-dwell': { frequency: 'daily', minDwellMin: 5 },
        'zero-dwell': { frequency: 'daily', minDwellMin: 5, hysteresis: { bufferMeters: 0, minOutsideSeconds: 0 } },
        hyst: { frequency: 'daily', hysteresis: HYST },
        'hyst-dwell': { frequency: 'daily', minDwellMin: 5, hysteresis: HYST },
      },
      t0,
    );
    for (const id of engine.taskIds) await engine.activate(id);
    for (let k = 0; k <= 20; k++) await step('13900000001', k % 2 === 0 ? inside : near, t0 + k * 30_000);
    // Today: once a day, however often they come in.
    expect(sentTo('plain')).toBe(1);
    expect(sentTo('hyst')).toBe(1);
    // Each return restarts dwell without hysteresis (never 5 minutes on end), not with it.
    expect(sentTo('plain-dwell')).toBe(0);
    expect(sentTo('zero-dwell')).toBe(0);
    expect(sentTo('hyst-dwell')).toBe(1);
  });

  it('a stay far away longer than the minimum is a leave: the return is a new entry and dwell starts again', async () => {
    const t0 = Date.now() - 60 * MIN;
    const { step, sentTo, engine } = engineWith({ t: { frequency: 'daily', minDwellMin: 5, hysteresis: HYST } }, t0);
    await engine.activate('t');
    await step('13900000002', inside, t0);
    await step('13900000002', far, t0 + 2 * MIN);
    // Six minutes far (more than five): left.
    await step('13900000002', inside, t0 + 8 * MIN);
    await step('13900000002', inside, t0 + 12 * MIN);
    expect(sentTo('t')).toBe(0);
    await step('13900000002', inside, t0 + 13 * MIN + 1_000);
    expect(sentTo('t')).toBe(1);
  });

  it('a short stay far away (less than the minimum) is no leave: dwell counts from the first entry', async () => {
    const t0 = Date.now() - 60 * MIN;
    const { step, sentTo, engine } = engineWith({ t: { frequency: 'daily', minDwellMin: 5, hysteresis: HYST } }, t0);
    await engine.activate('t');
    await step('13900000003', inside, t0);
    await step('13900000003', far, t0 + 1 * MIN);
    await step('13900000003', near, t0 + 3 * MIN);
    await step('13900000003', far, t0 + 4 * MIN);
    expect(sentTo('t')).toBe(0);
    // Back at 6 min: 5 minutes since the first entry.
    await step('13900000003', inside, t0 + 6 * MIN);
    expect(sentTo('t')).toBe(1);
  });

  it('nobody away is sent: outside the exact region (within the buffer) is still outside', async () => {
    const t0 = Date.now() - 60 * MIN;
    const { step, sentTo, engine } = engineWith({ t: { frequency: 'once', minDwellMin: 5, hysteresis: HYST } }, t0);
    await engine.activate('t');
    await step('13900000004', inside, t0);
    await step('13900000004', near, t0 + 1 * MIN);
    await step('13900000004', near, t0 + 30 * MIN);
    await engine.tick();
    expect(sentTo('t')).toBe(0);
    expect(engine.membersOf('t')).toBe(0);
  });

  it('grows every kind of part by the buffer: polygon edges, circle radii, corridor widths', () => {
    const halo = compileRegion(
      haloRegion(
        {
          parts: [
            { kind: 'circle', center: centre, radiusM: 1_000 },
            { kind: 'polyline', path: [offset(centre, 0, 5_000), offset(centre, 2_000, 5_000)], bufferM: 100 },
            { kind: 'rectangle', west: centre[0] - 0.1, south: centre[1] - 0.2, east: centre[0] + 0.1, north: centre[1] - 0.15 },
          ],
          edgeBufferM: 0,
        },
        500,
      ),
    );
    expect(halo.contains(...offset(centre, 1_450, 0))).toBe(true);
    expect(halo.contains(...offset(centre, 1_550, 0))).toBe(false);
    expect(halo.contains(...offset(centre, 1_000, 5_550))).toBe(true);
    expect(halo.contains(...offset(centre, 1_000, 5_650))).toBe(false);
    expect(halo.contains(centre[0], centre[1] - 0.15 + 400 / 111_195)).toBe(true);
    expect(halo.contains(centre[0], centre[1] - 0.15 + 600 / 111_195)).toBe(false);
  });
});
