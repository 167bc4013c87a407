import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { carrierOfMsisdn } from '../carriers/number-prefixes.ts';
import { CARRIERS, EVENT_KINDS, LANGUAGES, LocationEvent, shardOf } from '../contract.ts';
import { loadAdminAreas } from '../geography/admin-areas.ts';
import { buildCells } from './cells.ts';
import { PROFILE, isRoamingResident } from './population.ts';
import { distanceKm } from './random.ts';
import { LANDFALL_POINTS } from './places.ts';
import { Simulator, type EventSink } from './simulator.ts';

const areas = loadAdminAreas();
const cells = buildCells(areas, { seed: 1 });
const START = Date.parse('2026-07-01T07:00:00+08:00');
const sim = (seed: number, subscribers = 5000) => new Simulator({ areas, cells, subscribers, seed, startMs: START });

function collect(): EventSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, push: (_c, _s, json) => void lines.push(json) };
}
function digest(s: Simulator, hours: number): { count: number; sha: string } {
  const h = createHash('sha256');
  let count = 0;
  s.advanceTo(START / 1000 + hours * 3600, { push: (c, sh, json) => (h.update(`${c}/${sh}/${json}\n`), count++) });
  return { count, sha: h.digest('hex') };
}

describe('province simulator', { timeout: 180_000 }, () => {
  it('gives every subscriber a number of its own carrier block, in shares close to 60/20/20, each event valid', () => {
    const s = sim(3, 20_000);
    const sink = collect();
    s.advanceTo(START / 1000 + 120, sink);
    expect(sink.lines.length).toBeGreaterThan(15_000);
    const seen = new Map<string, string>();
    for (const line of sink.lines) {
      const e = LocationEvent.parse(JSON.parse(line));
      expect(carrierOfMsisdn(e.msisdn)).toBe(e.carrier);
      expect(seen.get(e.msisdn) ?? e.carrier).toBe(e.carrier);
      seen.set(e.msisdn, e.carrier);
    }
    const shares = { cmcc: 0, cucc: 0, ctcc: 0 };
    for (let i = 0; i < s.pop.size; i++) shares[s.pop.carrier(i)]++;
    expect(shares.cmcc / s.pop.size).toBeCloseTo(0.6, 1);
    expect(shares.cucc / s.pop.size).toBeCloseTo(0.2, 1);
    expect(shares.ctcc / s.pop.size).toBeCloseTo(0.2, 1);
    const numbers = new Set(Array.from({ length: s.pop.size }, (_, i) => s.pop.msisdn(i)));
    expect(numbers.size).toBe(s.pop.size);
  });

  it('registers 15–25 % of subscribers outside the city they live in, from other provinces and other cities', () => {
    const s = sim(4, 20_000);
    let roaming = 0;
    let otherProvince = 0;
    for (let i = 0; i < s.pop.size; i++) {
      if (!isRoamingResident(s.pop, s.cells, i)) continue;
      roaming++;
      if (!s.pop.homeCodes[s.pop.home[i]].startsWith('33')) otherProvince++;
    }
    expect(roaming / s.pop.size).toBeGreaterThanOrEqual(0.15);
    expect(roaming / s.pop.size).toBeLessThanOrEqual(0.25);
    expect(otherProvince / roaming).toBeGreaterThan(0.4);
    expect(otherProvince / roaming).toBeLessThan(0.9);
    // And the events carry it: some of the people in Hangzhou hold numbers from elsewhere.
    const sink = collect();
    s.advanceTo(START / 1000 + 120, sink);
    const homes = sink.lines.map((l) => (JSON.parse(l) as LocationEvent).home!);
    expect(homes.filter((h) => !h.startsWith('33')).length / homes.length).toBeGreaterThan(0.05);
  });

  it('gives roaming-in foreigners a language, mostly foreign, some locals English, and most profiles none (#21)', () => {
    const s = sim(4, 20_000);
    const of = (i: number) => (s.pop.lang[i] ? LANGUAGES[s.pop.lang[i] - 1] : undefined);
    let visitors = 0,
      foreigners = 0,
      foreign = 0,
      others = 0,
      english = 0;
    for (let i = 0; i < s.pop.size; i++) {
      const lang = of(i);
      if (s.pop.profile[i] === PROFILE.visitor && !s.pop.homeCodes[s.pop.home[i]].startsWith('33')) {
        visitors++;
        if (lang) foreigners++;
        if (lang && lang !== 'zh') foreign++;
      } else {
        others++;
        if (lang === 'en') english++;
        expect(lang === undefined || lang === 'en').toBe(true);
      }
    }
    expect(foreigners / visitors).toBeGreaterThan(0.08);
    expect(foreigners / visitors).toBeLessThan(0.25);
    expect(foreign / foreigners).toBeGreaterThan(0.8);
    expect(english / others).toBeGreaterThan(0.005);
    expect(english / others).toBeLessThan(0.02);
    // And the events carry it, as the contract allows.
    const sink = collect();
    s.advanceTo(START / 1000 + 120, sink);
    const langs = sink.lines.map((l) => LocationEvent.parse(JSON.parse(l)).lang).filter(Boolean);
    expect(new Set(langs).size).toBeGreaterThan(3);
  });

  it('produces exactly the same events from the same seed, and different ones from another seed', () => {
    const a = digest(sim(42), 3);
    const b = digest(sim(42), 3);
    const c = digest(sim(43), 3);
    expect(a.count).toBeGreaterThan(5000);
    expect(b).toEqual(a);
    expect(c.sha).not.toBe(a.sha);
  });

  it('gives the fast path (coded fields, for the binary batch) exactly the events of the JSON path', () => {
    const strings = collect();
    sim(8, 3000).advanceTo(START / 1000 + 1800, strings);
    const coded: LocationEvent[] = [];
    const fields: EventSink = {
      push: () => expect.unreachable('the fast path should be used'),
      event: (carrier, shard, msisdn, ts, cell, lat, lng, kind, gender, age, home, lang) => {
        const e = {
          msisdn: String(msisdn),
          carrier: CARRIERS[carrier],
          ts,
          cell,
          lat,
          lng,
          kind: EVENT_KINDS[kind],
          gender: gender === 2 ? 'f' : 'm',
          age,
          home: String(home).padStart(6, '0'),
          ...(lang ? { lang: LANGUAGES[lang - 1] } : {}),
        } as LocationEvent;
        expect(shardOf(e.msisdn)).toBe(shard);
        coded.push(e);
      },
    };
    sim(8, 3000).advanceTo(START / 1000 + 1800, fields);
    expect(coded.length).toBe(strings.lines.length);
    expect(coded).toEqual(strings.lines.map((l) => JSON.parse(l)));
  });

  it('moves people: commuters hand over between cells on the way to work', () => {
    const sink = collect();
    sim(5).advanceTo(START / 1000 + 3 * 3600, sink);
    const kinds = new Map<string, number>();
    for (const l of sink.lines) {
      const k = (JSON.parse(l) as LocationEvent).kind;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    expect(kinds.get('handover')).toBeGreaterThan(1000);
    for (const k of ['periodic', 'call', 'sms', 'data']) expect(kinds.get(k)).toBeGreaterThan(100);
  });

  it('moves people living near a typhoon landfall inland over the following hours', () => {
    const landfall = LANDFALL_POINTS.find((p) => p.id === 'wenling')!;
    const near = (s: Simulator) => {
      let n = 0;
      for (let i = 0; i < s.pop.size; i++) {
        const c = s.servingCells[i];
        if (distanceKm(s.cells.lat[c], s.cells.lng[c], landfall.lat, landfall.lng) <= 40) n++;
      }
      return n;
    };
    const calm = sim(6, 15_000);
    const storm = sim(6, 15_000);
    const info = storm.startScenario({ kind: 'typhoon', landfall: 'wenling', radiusKm: 40, rampHours: 3, compliance: 0.8 });
    expect(info.people).toBeGreaterThan(300);
    const before = near(storm);
    const until = START / 1000 + 8 * 3600;
    const none = { push() {} };
    calm.advanceTo(until, none);
    storm.advanceTo(until, none);
    expect(near(calm)).toBeGreaterThan(before * 0.8);
    expect(near(storm)).toBeLessThan(before * 0.4);
    // Inland: further from the sea, i.e. west of where they live.
    let west = 0;
    let moved = 0;
    for (let i = 0; i < storm.pop.size; i++) {
      const home = storm.pop.homeCell[i];
      if (distanceKm(storm.cells.lat[home], storm.cells.lng[home], landfall.lat, landfall.lng) > 40) continue;
      const c = storm.servingCells[i];
      if (c === home) continue;
      moved++;
      if (storm.cells.lng[c] < storm.cells.lng[home] - 0.2) west++;
    }
    expect(west / moved).toBeGreaterThan(0.6);
  });

  it('gathers a crowd at the stadium for a concert and lets it go afterwards', () => {
    const s = sim(7, 15_000);
    s.advanceTo(START / 1000 + 11 * 3600, { push() {} }); // 18:00
    const info = s.startScenario({ kind: 'concert', venue: 'hangzhou-olympic', share: 0.1, startsInMin: 120, durationHours: 2 });
    const venue = s.cells.within(30.2299, 120.2334, 0.8);
    const at = () => s.servingCells.filter((c) => venue.includes(c)).length;
    const before = at();
    s.advanceTo(START / 1000 + 13.5 * 3600, { push() {} }); // 20:30, show on
    const during = at();
    s.advanceTo(START / 1000 + 17 * 3600, { push() {} }); // 24:00
    expect(during).toBeGreaterThan(before + info.people * 0.5);
    expect(at()).toBeLessThan(during * 0.3);
  });

  it('keeps periodic updates flowing from the first hour (phases spread, no 1–2 h silence after placement)', () => {
    const night = Date.parse('2026-07-01T02:00:00+08:00');
    const s = new Simulator({ areas, cells, subscribers: 5000, seed: 9, startMs: night });
    const periodic: number[] = [];
    s.advanceTo(night / 1000 + 3600, {
      push: (_c, _s, json) => {
        const e = JSON.parse(json) as LocationEvent;
        if (e.kind === 'periodic') periodic.push(e.ts);
      },
    });
    // Every subscriber updates every 1–2 h: about 5000 / 1.5 h ≈ 55 per minute once placed.
    const between = periodic.filter((t) => t >= night + 5 * 60_000 && t < night + 55 * 60_000).length;
    expect(between).toBeGreaterThan(5000 * 0.3);
  });
});

describe('plain cell ids', () => {
  it("lets one id name a different cell, far away, in each carrier's network (invariant 8 test data)", () => {
    const cells = buildCells(loadAdminAreas(), { seed: 3, plainIds: true });
    const at = (k: number, id: string) => cells.ids[k]!.indexOf(id);
    let apart = 0;
    for (const id of ['cell-0', 'cell-17', `cell-${cells.count - 1}`]) {
      const [a, b, c] = [0, 1, 2].map((k) => at(k, id));
      expect(Math.min(a!, b!, c!)).toBeGreaterThanOrEqual(0);
      expect(new Set([a, b, c]).size).toBe(3);
      if (distanceKm(cells.lat[a!]!, cells.lng[a!]!, cells.lat[b!]!, cells.lng[b!]!) > 1) apart++;
    }
    expect(apart).toBeGreaterThan(0);
    // Within a carrier every id is still unique.
    for (const k of [0, 1, 2]) expect(new Set(cells.ids[k]).size).toBe(cells.count);
  });
});
