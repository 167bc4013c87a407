import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CARRIERS, type Carrier } from '@geo/ingest';
import { AlertTask, AlertTaskSpec, type AlertTaskSpecInput } from '../contract.ts';
import { Presence, type PresenceEvent } from '../presence/presence.ts';
import { circleTask, offset } from '../testing/engine-kit.ts';
import { Engine } from './engine.ts';
import { MemoryPorts } from './memory-ports.ts';
import { Membership } from './membership.ts';

describe('Membership', () => {
  it('holds who is inside like a set, members in ascending order, entry times kept across moves', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('add' as const), i: fc.nat(5000) }),
      fc.record({ k: fc.constant('delete' as const), i: fc.nat(5000) }),
      fc.record({ k: fc.constant('moved' as const), i: fc.nat(5000), since: fc.nat(1e9) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const m = new Membership();
        const ref = new Map<number, number | undefined>();
        for (const o of ops) {
          if (o.k === 'add') {
            m.add(o.i, 16);
            if (!ref.has(o.i)) ref.set(o.i, undefined);
          } else if (o.k === 'delete') {
            m.delete(o.i);
            ref.delete(o.i);
          } else {
            m.moved(o.i, o.since);
            if (ref.has(o.i) && ref.get(o.i) === undefined) ref.set(o.i, o.since);
          }
        }
        expect(m.size).toBe(ref.size);
        expect([...m.members()]).toEqual([...ref.keys()].sort((a, b) => a - b));
        for (const [i, since] of ref) expect(m.enteredSec(i, -1)).toBe(since ?? -1);
        for (let i = 0; i < 50; i++) expect(m.has(i)).toBe(ref.has(i));
      }),
    );
  });
});

const centre: [number, number] = [121.9, 29.1];
const MIN = 60_000;

function engineWith(spec: Partial<AlertTaskSpecInput>, time: number) {
  const mem = new MemoryPorts();
  mem.time = time;
  const engine = new Engine(mem.ports, new Presence());
  const task = AlertTask.parse({
    id: 't-m',
    version: 1,
    spec: AlertTaskSpec.parse(circleTask(centre, 500, spec)),
    state: 'running',
    updatedAt: time,
  });
  engine.upsertTask(task);
  return { mem, engine };
}

const at = (msisdn: string, where: [number, number], ts: number, cell: string, carrier: Carrier = 'cmcc'): PresenceEvent => ({
  msisdn,
  carrier,
  ts,
  cell,
  lng: where[0],
  lat: where[1],
  kind: 'periodic',
});

describe('engine membership', () => {
  it('counts dwell from entering the region: a move between two cells inside keeps it, leaving starts it again', async () => {
    const t0 = Date.now() - 20 * MIN;
    const { mem, engine } = engineWith({ minDwellMin: 10 }, t0);
    await engine.activate('t-m');
    const a = offset(centre, -100, 0),
      b = offset(centre, 100, 0),
      out = offset(centre, 5_000, 0);
    const send = (evs: PresenceEvent[]) => engine.sendSoon(engine.applyEvents(evs, true));
    await send([at('13800000001', a, t0, 'A'), at('13800000002', a, t0, 'A')]);
    mem.time = t0 + 3 * MIN;
    await send([at('13800000002', out, mem.time, 'OUT')]);
    mem.time = t0 + 5 * MIN;
    await send([at('13800000002', b, mem.time, 'B')]);
    mem.time = t0 + 6 * MIN;
    await send([at('13800000001', b, mem.time, 'B')]);
    expect(engine.membersOf('t-m')).toBe(2);

    mem.time = t0 + 11 * MIN;
    await engine.tick();
    // 11 min since the first entered (6 min after their move inside); 6 min since the second came back.
    expect(mem.jobs().map((j) => j.msisdn)).toEqual(['13800000001']);
    mem.time = t0 + 15 * MIN;
    await engine.tick();
    expect(
      mem
        .jobs()
        .map((j) => j.msisdn)
        .sort(),
    ).toEqual(['13800000001', '13800000002']);
  });

  it('sends everyone present in the region once at activation, within the caps, and nobody outside or stale', async () => {
    const now = Date.now();
    const { mem, engine } = engineWith(
      {
        quota: {
          cmcc: { total: 10_000, dailyCap: 10_000 },
          cucc: { total: 10_000, dailyCap: 10_000 },
          ctcc: { total: 10_000, dailyCap: 700 },
        },
        balance: 30_000,
      },
      now,
    );
    const evs: PresenceEvent[] = [];
    const inside: string[] = [];
    for (let k = 0; k < 3_000; k++) {
      const m = `139${String(k).padStart(8, '0')}`;
      const kind = k % 10; // 0: outside, 1: stale, else inside
      const where = kind === 0 ? offset(centre, 3_000 + k, 0) : offset(centre, (k % 40) * 10, (k % 30) * 10);
      evs.push(at(m, where, kind === 1 ? now - 3 * 3600_000 : now - 1_000, `c${k % 200}-${kind === 0}`, CARRIERS[k % 3]));
      if (kind > 1) inside.push(m);
    }
    engine.applyEvents(evs, false);
    expect(await engine.activate('t-m')).toBe(inside.length - (inside.filter((m) => Number(m.slice(3)) % 3 === 2).length - 700));
    const jobs = mem.jobs();
    const sent = new Set(jobs.map((j) => j.msisdn));
    expect(sent.size).toBe(jobs.length);
    expect(jobs.filter((j) => j.carrier === 'ctcc')).toHaveLength(700);
    for (const j of jobs) expect(inside).toContain(j.msisdn);
    expect(inside.filter((m) => Number(m.slice(3)) % 3 !== 2).every((m) => sent.has(m))).toBe(true);
    const [progress] = engine.progress();
    expect(progress.skipped.daily_cap).toBe(inside.filter((m) => Number(m.slice(3)) % 3 === 2).length - 700);
    expect(mem.chunks.reduce((n, c) => n + c.chunk.msisdns.length, 0)).toBe(jobs.length);
  });
});
