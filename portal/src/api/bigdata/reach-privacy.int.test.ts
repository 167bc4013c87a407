import { beforeAll, describe, expect, it } from 'vitest';
import { type LocationEvent } from '@geo/ingest';
import { atom } from '@geo/insight';
import { START_TIMEOUT } from '../../test/harness.ts';
import { consoleFixture, locationEvent, publishLocations } from '../../test/console-fixture.ts';

/**
 * Reach privacy (#17, invariant 7), black-box over HTTP against a real alerting engine: no figure
 * about fewer than k = 10 people, and the differencing attacks learn nothing: a region, then the
 * same region plus one sparse cell, with and without rules; the same region a moment later, after
 * one person left a busy cell. Every released figure is on the grid of k (each (cell, carrier)
 * atom quantised: 0 under k, else the nearest multiple of k). Its own nats-server, so that no other
 * test file's engine holds some of these people.
 */
const fx = consoleFixture('reach-privacy', { nats: 'own', engine: true });
const busy: [number, number] = [120.3, 29.3];
const sparse: [number, number] = [120.33, 29.3];
const m = (n: number) => `139${String(70_000_000 + n).padStart(8, '0')}`;
const ev = (msisdn: string, carrier: LocationEvent['carrier'], cell: string, at: [number, number], over: Partial<LocationEvent> = {}) =>
  locationEvent(msisdn, cell, at, { carrier, ...over });

beforeAll(async () => {
  // The busy cell: 25 cmcc women aged 35 and 3 cmcc men; 12 cucc people in a second busy cell;
  // 4 ctcc people there too. The sparse cell, 3 km away: one cmcc woman aged 35.
  const events: LocationEvent[] = [];
  let n = 0;
  for (let i = 0; i < 25; i++) events.push(ev(m(n++), 'cmcc', 'busy-1', busy, { gender: 'f', age: 35 }));
  for (let i = 0; i < 3; i++) events.push(ev(m(n++), 'cmcc', 'busy-1', busy, { gender: 'm', age: 35 }));
  for (let i = 0; i < 12; i++) events.push(ev(m(n++), 'cucc', 'busy-2', busy, { gender: 'f', age: 35 }));
  for (let i = 0; i < 4; i++) events.push(ev(m(n++), 'ctcc', 'busy-3', busy, { gender: 'f', age: 35 }));
  events.push(ev(m(n), 'cmcc', 'sparse-1', sparse, { gender: 'f', age: 35 }));
  await publishLocations(fx.nc, events);
  const end = Date.now() + 30_000;
  while (events.some((e) => fx.engine.engine.presence.indexOf(e.msisdn) < 0)) {
    if (Date.now() > end) throw new Error('events not applied');
    await new Promise((r) => setTimeout(r, 100));
  }
}, START_TIMEOUT);

const circle = (center: [number, number], radiusM: number) => ({ kind: 'circle', center, radiusM });
const R = { parts: [circle(busy, 500)] };
const RS = { parts: [circle(busy, 500), circle(sparse, 300)] };
const women30s = [
  { attribute: 'gender', action: 'keep', values: ['f'] },
  { attribute: 'age', action: 'keep', min: 30, max: 40 },
];
const men = [{ attribute: 'gender', action: 'keep', values: ['m'] }];

/** Every released count of every answer, but "allowed today" under a quota (capped by the requester's own number). */
const released: number[] = [];

async function reach(region: unknown, rules: unknown[] = [], quota: Record<string, unknown> = {}) {
  const r = await fx.admin('POST', '/api/bigdata/reach', { region, rules, quota });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const { at: _at, ...rest } = r.body;
  const capped = Object.keys(quota).length > 0;
  for (const [i, f] of figures(rest).entries()) if (f.value !== null && !(capped && i >= 8)) released.push(f.value);
  return rest;
}

/** Every released figure of a reach answer. */
function figures(body: any): { value: number | null; suppressed: boolean }[] {
  const out = [];
  for (const k of ['present', 'passing', 'allowedToday']) {
    for (const c of ['cmcc', 'cucc', 'ctcc']) out.push(body[k][c]);
    out.push(body.total[k]);
  }
  return out;
}

describe('reach estimate privacy', () => {
  it('never shows a count under k: per carrier and in total, for one sparse cell with and without rules', async () => {
    for (const rules of [[], women30s, men]) {
      const body = await reach({ parts: [circle(sparse, 300)] }, rules);
      expect(body.k).toBe(10);
      for (const f of figures(body)) expect(f).toEqual({ value: null, suppressed: true });
    }
    const body = await reach(R);
    for (const f of figures(body)) expect(f.suppressed ? f.value === null : f.value! >= 10, JSON.stringify(f)).toBe(true);
    // cmcc's busy cell: 28 present, of whom 25 women 30–40 and 3 men; cucc 12; ctcc 4 (< k); each
    // on the grid of k.
    expect(body.present).toEqual({
      cmcc: { value: atom(28, 10), suppressed: false },
      cucc: { value: atom(12, 10), suppressed: false },
      ctcc: { value: null, suppressed: true },
    });
    expect(body.total.present).toEqual({ value: atom(28, 10) + atom(12, 10), suppressed: false });
    expect((await reach(R, women30s)).passing.cmcc).toEqual({ value: atom(25, 10), suppressed: false });
    expect((await reach(R, men)).passing.cmcc).toEqual({ value: null, suppressed: true });
  });

  it('answers a region and the same region plus one sparse cell identically (differencing), with and without rules', async () => {
    for (const rules of [[], women30s, men]) {
      const quota = { cmcc: { total: 100, dailyCap: 50 }, cucc: { total: 100, dailyCap: 50 } };
      expect(await reach(RS, rules, quota)).toEqual(await reach(R, rules, quota));
      expect(await reach(RS, rules)).toEqual(await reach(R, rules));
    }
  });

  it('answers the same region the same after one person left a busy cell of 12 (time differencing)', async () => {
    const before = await Promise.all([reach(R), reach(R, women30s)]);
    // One of cucc's 12 in busy-2 (all women aged 35) moves 70 km away.
    await publishLocations(fx.nc, [ev(m(28), 'cucc', 'far-1', [121.0, 29.3], { gender: 'f', age: 35, kind: 'handover' })]);
    const end = Date.now() + 30_000;
    while (fx.engine.engine.presence.countsPerCell().get('cucc:busy-2') !== 11) {
      if (Date.now() > end) throw new Error('the move was not applied');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await Promise.all([reach(R), reach(R, women30s)])).toEqual(before);
  });

  it('puts every released figure of the battery on the grid of k: any two answers differ by 0 or at least k', () => {
    expect(released.length).toBeGreaterThan(20);
    for (const v of released) expect(v % 10, String(v)).toBe(0);
    for (const a of released) for (const b of released) expect(a === b || Math.abs(a - b) >= 10, `${a} vs ${b}`).toBe(true);
  });

  it('refuses a region that task submission refuses (a bow-tie polygon), in Chinese', async () => {
    const bowTie = {
      parts: [
        {
          kind: 'polygon',
          rings: [
            [
              [120.3, 29.3],
              [120.31, 29.31],
              [120.31, 29.3],
              [120.3, 29.31],
              [120.3, 29.3],
            ],
          ],
        },
      ],
    };
    const r = await fx.admin('POST', '/api/bigdata/reach', { region: bowTie });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body.error)).toMatch(/交叉/);
    const empty = await fx.admin('POST', '/api/bigdata/reach', { region: { parts: [] } });
    expect(empty.status).toBe(400);
    expect(JSON.stringify(empty.body.error)).toMatch(/区域为空/);
  });
});
