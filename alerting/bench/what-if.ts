/**
 * What-if replay time for one district-day (#21): `npx tsx alerting/bench/what-if.ts`.
 * The province simulator runs a day for BENCH_SUBSCRIBERS people (default 200,000, ingest's
 * default scale); the moves are derived as insight writes them (a first sighting and every cell
 * change); the district with the most moves is replayed over its whole day with two drafts: plain
 * (once, all day) and busy (daily, 08:00–20:00, 10 min dwell, a rule, caps that bind). It times
 * the replay itself (alerting's CPU); reading the district's day from ClickHouse is measured by
 * the responder (`readMs`) and is insight's region query (~0.1–0.3 s at 1M subscribers). Prints
 * one JSON line.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CARRIERS, loadAdminAreas, type LocationEvent } from '@geo/ingest';
// The simulator is not on ingest's front door; a bench, like the tests, takes it from its file.
import { Simulator } from '../../ingest/src/simulator/simulator.ts';
import { AlertTaskSpec, type AlertTaskSpecInput } from '../src/contract.ts';
import { compileRegion } from '../src/geofence/point-in-region.ts';
import { installIngestAdminAreas, ingestCityLocator } from '../src/geofence/ingest-admin-areas.ts';
import type { PresenceEvent } from '../src/presence/presence.ts';
import { shanghaiMidnight, shanghaiDate } from '../src/rules/shanghai-time.ts';
import { replayTask } from '../src/what-if/replay-task.ts';

const N = Number(process.env.BENCH_SUBSCRIBERS ?? 200_000);
const areas = loadAdminAreas();
installIngestAdminAreas();
/** The simulated district-day, kept between runs when BENCH_DAY_FILE names a file (profiling the replay alone). */
interface DistrictDay {
  day: number;
  code: string;
  name: string;
  events: number;
  simulateS: number;
  before: PresenceEvent[];
  moves: PresenceEvent[];
}

function simulateDistrictDay(): DistrictDay {
  const DAY = shanghaiMidnight(shanghaiDate(Date.now() - 2 * 86_400_000));
  const sim = new Simulator({ areas, subscribers: N, seed: 5, startMs: DAY - 3600_000 });

  // Moves as insight derives them, per district (by the cell's district).
  const districts = areas.filter((a) => a.level === 'district' && a.geometry);
  const compiled = districts.map((d) => ({ d, r: compileRegion({ parts: [{ kind: 'admin', code: d.code }] }) }));
  const districtOfCell = new Map<string, number>();
  const districtOf = (e: LocationEvent) => {
    const key = `${e.carrier}:${e.cell}`;
    let k = districtOfCell.get(key);
    if (k === undefined) {
      k = compiled.findIndex((x) => x.r.contains(e.lng, e.lat));
      districtOfCell.set(key, k);
    }
    return k;
  };
  const last = new Map<string, { cell: string; district: number }>();
  const movesByDistrict = new Map<number, PresenceEvent[]>();
  const lastBefore = new Map<string, PresenceEvent>();
  let events = 0;
  const t0 = performance.now();
  const GENDER = [undefined, 'm', 'f'] as const;
  sim.advanceTo(Math.floor((DAY + 86_400_000) / 1000), {
    push: () => undefined,
    // The fast path: coded fields, no JSON (a day of a province is millions of events).
    event: (ci, _shard, msisdn, ts, cellId, lat, lng, _kind, gender, age, home) => {
      events++;
      const carrier = CARRIERS[ci]!;
      const cell = `${ci}:${cellId}`;
      const m = String(msisdn);
      const prev = last.get(m);
      if (prev?.cell === cell) return;
      const e = { msisdn: m, carrier, ts, cell: cellId, lat, lng } as LocationEvent;
      const district = districtOf(e);
      last.set(m, { cell, district });
      const move: PresenceEvent = { ...e, kind: 'handover', gender: GENDER[gender], age, home: String(home) };
      if (ts < DAY) {
        lastBefore.set(m, move);
        return;
      }
      // Into or inside a district, and out of the one they were in (a detach, as the history reader gives it).
      if (district >= 0) (movesByDistrict.get(district) ?? movesByDistrict.set(district, []).get(district)!).push(move);
      if (prev && prev.district >= 0 && prev.district !== district)
        (movesByDistrict.get(prev.district) ?? movesByDistrict.set(prev.district, []).get(prev.district)!).push({
          ...move,
          kind: 'detach',
          cell: '',
          lat: 0,
          lng: 0,
        });
    },
  });
  const simulateS = (performance.now() - t0) / 1000;
  const [busiest, moves] = [...movesByDistrict].sort((a, b) => b[1].length - a[1].length)[0]!;
  const district = compiled[busiest]!;
  const before = [...lastBefore.values()].filter((e) => district.r.contains(e.lng, e.lat));
  moves.sort((a, b) => a.ts - b.ts);
  // Only the replayed district's moves stay: the province's day (millions of move objects) held
  // beside the replay made every collection of its garbage scan them (the plain draft cost 140 µs a
  // move at 200,000 subscribers, 65 µs at 50,000). A responder holds one district's history only.
  movesByDistrict.clear();
  last.clear();
  lastBefore.clear();
  districtOfCell.clear();
  return { day: DAY, code: district.d.code, name: district.d.name, events, simulateS, before, moves };
}

const DAY_FILE = process.env.BENCH_DAY_FILE;
const cached = DAY_FILE && existsSync(DAY_FILE) ? (JSON.parse(readFileSync(DAY_FILE, 'utf8')) as DistrictDay) : undefined;
const dd = cached ?? simulateDistrictDay();
if (DAY_FILE && !cached) writeFileSync(DAY_FILE, JSON.stringify(dd));
const { day: DAY, before, moves, events, simulateS } = dd;
// What the replay starts with (node --expose-gc: after a full collection).
(globalThis as { gc?: () => void }).gc?.();
const heapMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
const district = { d: { code: dd.code, name: dd.name } };

const q = (total: number, dailyCap: number) => ({ total, dailyCap });
const base = (over: Partial<AlertTaskSpecInput>): AlertTaskSpec =>
  AlertTaskSpec.parse({
    alertType: 'rainstorm',
    region: { parts: [{ kind: 'admin', code: district.d.code }] },
    subject: 'bench',
    content: '暴雨预警：请注意安全',
    signature: '应急管理局',
    startDate: '2030-01-01',
    endDate: '2030-01-01',
    frequency: 'once',
    quota: { cmcc: q(1_000_000, 1_000_000), cucc: q(1_000_000, 1_000_000), ctcc: q(1_000_000, 1_000_000) },
    balance: 3_000_000,
    accountId: 'bench',
    enterpriseId: 'bench',
    ...over,
  });
const drafts = {
  plain: base({}),
  busy: base({
    frequency: 'daily',
    windows: [{ start: '08:00', end: '20:00' }],
    minDwellMin: 10,
    rules: [{ attribute: 'age', action: 'keep', min: 18, max: 60 }],
    quota: { cmcc: q(2000, 2000), cucc: q(1000, 1000), ctcc: q(500, 500) },
    balance: 3500,
  }),
};
const out: Record<string, unknown> = {
  bench: 'what-if',
  subscribers: N,
  events,
  simulate_s: Number(simulateS.toFixed(1)),
  district: `${district.d.code} ${district.d.name}`,
  district_moves: moves.length,
  inside_at_start: before.length,
  heap_mb: heapMb,
};
// BENCH_DRAFTS=plain runs only the named drafts (a profile of one).
const only = process.env.BENCH_DRAFTS?.split(',');
for (const [name, spec] of Object.entries(drafts)) {
  if (only && !only.includes(name)) continue;
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const r = await replayTask(spec, { from: DAY, to: DAY + 86_400_000 }, before, moves, { cityOf: ingestCityLocator() });
  out[`${name}_replay_s`] = Number(((performance.now() - w0) / 1000).toFixed(2));
  const cpu = process.cpuUsage(c0);
  out[`${name}_cpu_s`] = Number(((cpu.user + cpu.system) / 1e6).toFixed(2));
  out[`${name}_sent`] = r.sends.length;
  out[`${name}_skipped`] = r.skipped;
}
console.log(JSON.stringify(out));
