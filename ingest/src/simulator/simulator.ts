import { CARRIERS, EVENT_KINDS, LANGUAGES, type EventKind, type ScenarioInfo, type ScenarioRequest } from '../contract.ts';
import type { AdminArea } from '../geography/admin-areas.ts';
import { buildCells, type CellTable } from './cells.ts';
import { DayPlanner, TZ_OFFSET_S } from './day-plan.ts';
import { PREFIXES, buildPopulation, type Population } from './population.ts';
import { distanceKm, mix32, nextUnit } from './random.ts';
import { createScenario, type ActiveScenario } from './scenarios.ts';

/** Where generated events go: one JSON text per event, with its carrier index and shard. */
export interface EventSink {
  push(carrier: number, shard: number, json: string): void;
  /**
   * Optional fast path: the event by its coded fields, no JSON and no string but the (shared) cell
   * id. `carrier`/`kind` index CARRIERS/EVENT_KINDS; gender 1 m, 2 f; `home` the code as a number;
   * `lang` the profile's language as index in LANGUAGES + 1, 0 when it names none.
   * The values are exactly those the JSON text would carry (positions rounded to 5 decimals).
   */
  event?(
    carrier: number,
    shard: number,
    msisdn: number,
    ts: number,
    cell: string,
    lat: number,
    lng: number,
    kind: number,
    gender: number,
    age: number,
    home: number,
    lang: number,
  ): void;
}

export interface SimulatorOptions {
  areas: readonly AdminArea[];
  subscribers: number;
  seed: number;
  /** Simulated start, epoch ms. */
  startMs: number;
  roamingShare?: number;
  shards?: number;
  /** Pre-built cells (tests share one layout). */
  cells?: CellTable;
  /** Carriers use plain cell ids in their own orders: one id, different places per carrier (see CellOptions.plainIds). */
  plainCellIds?: boolean;
}

/** Seconds in the scheduling wheel: longer than the longest sleep (periodic update ≤ 2 h). */
const WHEEL = 8192;
const H = 3600;
const WAKE = { first: 0, activity: 1, periodic: 2, check: 3 } as const;
const KIND_JSON = EVENT_KINDS.map((k) => `,"kind":"${k}"`);
const K = Object.fromEntries(EVENT_KINDS.map((k, i) => [k, i])) as Record<EventKind, number>;
/** Activities per hour by local hour: quiet nights, busy days and evenings. */
const ACTIVITY_PER_H = [
  0.15, 0.1, 0.05, 0.05, 0.05, 0.1, 0.4, 1, 1.5, 1.6, 1.6, 1.6, 1.8, 1.6, 1.5, 1.5, 1.6, 1.8, 2, 2.2, 2.2, 1.8, 1.2, 0.5,
];

/**
 * The province simulator: subscribers move by their day plans (and any running scenario) across
 * synthetic cells and produce signalling events. Time is simulated seconds; subscribers sleep in a
 * timing wheel until their next event, so a step costs only the subscribers that are due. All
 * state is typed arrays keyed by the subscriber index, and all randomness is per subscriber, so the
 * same seed gives the same events however fast the clock runs.
 */
export class Simulator {
  readonly cells: CellTable;
  readonly pop: Population;
  private readonly planner: DayPlanner;
  /** Current serving cell, trip origin and destination, trip progress. */
  private readonly cell: Uint32Array;
  private readonly from: Uint32Array;
  private readonly to: Uint32Array;
  private readonly hop: Uint8Array;
  private readonly hops: Uint8Array;
  /** Unix seconds of the last event and of the scheduled wake. */
  private readonly lastEvent: Uint32Array;
  private readonly wake: Uint32Array;
  /** Why the subscriber wakes (WAKE). */
  private readonly reason: Uint8Array;
  private readonly rng: Uint32Array;
  private readonly buckets: Uint32Array[] = [];
  private readonly fill = new Uint32Array(WHEEL);
  private scenarios: ActiveScenario[] = [];
  private readonly homeJson: string[];
  /** The end of an event's JSON: its language (none for most) and the closing brace. */
  private readonly langJson: string[];
  /** The same values as numbers, for sinks with the fast path. */
  private readonly coded: { prefix: Float64Array; lat: Float64Array; lng: Float64Array; home: Int32Array };
  private readonly carrierJson: string[];
  private readonly ageJson: string[];
  /** The next simulated second to process. */
  private cursor: number;
  eventsTotal = 0;

  constructor(opts: SimulatorOptions) {
    this.cells = opts.cells ?? buildCells(opts.areas, { seed: opts.seed, plainIds: opts.plainCellIds });
    this.pop = buildPopulation(this.cells, {
      size: opts.subscribers,
      seed: opts.seed,
      roamingShare: opts.roamingShare,
      shards: opts.shards,
    });
    this.planner = new DayPlanner(this.cells, this.pop);
    const n = this.pop.size;
    this.cell = new Uint32Array(n);
    this.from = new Uint32Array(n);
    this.to = new Uint32Array(n);
    this.hop = new Uint8Array(n);
    this.hops = new Uint8Array(n);
    this.lastEvent = new Uint32Array(n);
    this.wake = new Uint32Array(n);
    this.reason = new Uint8Array(n);
    this.rng = new Uint32Array(n);
    this.homeJson = this.pop.homeCodes.map((c) => `,"home":"${c}"`);
    this.langJson = ['}', ...LANGUAGES.map((l) => `,"lang":"${l}"}`)];
    this.carrierJson = CARRIERS.map((c) => `","carrier":"${c}","ts":`);
    this.ageJson = Array.from({ length: 121 }, (_, a) => `,"age":${a}`);
    for (let w = 0; w < WHEEL; w++) this.buckets.push(new Uint32Array(4));
    const rounded = (a: Float64Array) => Float64Array.from(a, (x) => Number(x.toFixed(5)));
    this.coded = {
      prefix: Float64Array.from(PREFIXES, (p) => Number(p.prefix) * 10 ** (11 - p.prefix.length)),
      lat: rounded(this.cells.lat),
      lng: rounded(this.cells.lng),
      home: Int32Array.from(this.pop.homeCodes, Number),
    };

    const start = Math.floor(opts.startMs / 1000);
    this.cursor = start;
    for (let i = 0; i < n; i++) {
      this.rng[i] = mix32(opts.seed, i, 0x5eed) || 1;
      const c = this.plannedCell(i, start);
      this.cell[i] = this.from[i] = this.to[i] = c;
      // As if the last update was some time in the last hour; everyone reports within a minute.
      this.lastEvent[i] = start - Math.floor(nextUnit(this.rng, i) * H);
      this.schedule(i, start + Math.floor(nextUnit(this.rng, i) * 60), WAKE.first);
    }
  }

  /** Simulated now, Unix seconds (the next second to run). */
  get nowSec(): number {
    return this.cursor;
  }

  /** Simulated now, epoch ms. */
  get nowMs(): number {
    return this.cursor * 1000;
  }

  get running(): readonly ScenarioInfo[] {
    return this.scenarios.map((s) => s.info);
  }

  /** Starts a scenario now (simulated); people it concerns re-plan at once. */
  startScenario(request: ScenarioRequest): ScenarioInfo {
    const s = createScenario(request, this.cursor, this.cells, this.pop);
    this.scenarios.push(s);
    for (const i of s.members()) {
      if (this.hops[i] === 0)
        this.schedule(
          i,
          Math.max(this.cursor, Math.min(s.startSec, this.wake[i])),
          this.reason[i] === WAKE.first ? WAKE.first : WAKE.check,
        );
    }
    return s.info;
  }

  stopScenario(id: string): ScenarioInfo | undefined {
    const s = this.scenarios.find((x) => x.info.id === id);
    this.scenarios = this.scenarios.filter((x) => x !== s);
    return s?.info;
  }

  /** Where subscriber `i` means to be at `sec`: a scenario's cell, or the day plan's. */
  private plannedCell(i: number, sec: number): number {
    for (let k = 0; k < this.scenarios.length; k++) {
      const c = this.scenarios[k].override(i, sec);
      if (c >= 0) {
        this.nextChange = sec + 600; // re-check a scenario's plan every 10 simulated minutes
        return c;
      }
    }
    const local = sec + TZ_OFFSET_S;
    const day = Math.floor(local / 86400);
    if (this.lastPlanned !== i || this.lastDay !== day) {
      this.planner.plan(i, day);
      this.lastDay = day;
      this.lastPlanned = i;
    }
    const tod = local - day * 86400;
    const c = this.planner.at(tod);
    this.nextChange = sec + (this.planner.nextChange - tod);
    if (this.scenarios.length) this.nextChange = Math.min(this.nextChange, sec + 600);
    return c;
  }
  private nextChange = 0;
  private lastPlanned = -1;
  private lastDay = -1;

  private schedule(i: number, sec: number, why: number): void {
    this.wake[i] = sec;
    this.reason[i] = why;
    const w = sec & (WHEEL - 1);
    let b = this.buckets[w];
    const f = this.fill[w];
    if (f === b.length) {
      const grown = new Uint32Array(b.length * 2);
      grown.set(b);
      this.buckets[w] = b = grown;
    }
    b[f] = i;
    this.fill[w] = f + 1;
  }

  private emit(i: number, sec: number, kind: number, sink: EventSink): void {
    const pop = this.pop;
    const p = PREFIXES[pop.prefix[i]];
    const ts = sec * 1000 + (mix32(i, sec) % 1000);
    this.lastEvent[i] = sec;
    this.eventsTotal++;
    if (sink.event) {
      const c = this.cell[i],
        d = this.coded;
      sink.event(
        p.carrier,
        pop.shard[i],
        d.prefix[pop.prefix[i]] + pop.suffix(i),
        ts,
        this.cells.ids[p.carrier][c],
        d.lat[c],
        d.lng[c],
        kind,
        pop.female[i] ? 2 : 1,
        pop.age[i],
        d.home[pop.home[i]],
        pop.lang[i],
      );
      return;
    }
    sink.push(
      p.carrier,
      pop.shard[i],
      `{"msisdn":"${pop.msisdn(i)}${this.carrierJson[p.carrier]}${ts},${this.cells.json[p.carrier][this.cell[i]]}${KIND_JSON[kind]},"gender":"${pop.female[i] ? 'f' : 'm'}"${this.ageJson[pop.age[i]]}${this.homeJson[pop.home[i]]}${this.langJson[pop.lang[i]]}`,
    );
  }

  /** One wake of subscriber `i` at `sec`: move one hop, or start a trip, or report activity. */
  private step(i: number, sec: number, sink: EventSink): void {
    const cells = this.cells;
    if (this.hops[i] > 0) {
      const h = ++this.hop[i];
      const a = this.from[i];
      const b = this.to[i];
      const n = this.hops[i];
      const next =
        h >= n
          ? b
          : cells.nearest(cells.lat[a] + ((cells.lat[b] - cells.lat[a]) * h) / n, cells.lng[a] + ((cells.lng[b] - cells.lng[a]) * h) / n);
      if (h >= n) this.hops[i] = this.hop[i] = 0;
      if (next !== this.cell[i]) {
        this.cell[i] = next;
        this.emit(i, sec, K.handover, sink);
      }
      if (this.hops[i] > 0) {
        this.schedule(i, sec + this.hopSeconds(i), WAKE.check);
        return;
      }
    }
    const planned = this.plannedCell(i, sec);
    const nextChange = this.nextChange;
    if (planned !== this.cell[i]) {
      const d = distanceKm(cells.lat[this.cell[i]], cells.lng[this.cell[i]], cells.lat[planned], cells.lng[planned]);
      this.from[i] = this.cell[i];
      this.to[i] = planned;
      this.hop[i] = 0;
      this.hops[i] = Math.max(1, Math.min(200, Math.round(d / 1.5)));
      this.schedule(i, sec + this.hopSeconds(i), WAKE.check);
      return;
    }
    const periodicEvery = H + (mix32(this.pop.seed, i, 0xbeef) % H);
    if (this.reason[i] === WAKE.first) {
      this.emit(i, sec, K.periodic, sink);
      // Everyone is placed in the first simulated minute; without a phase their next periodic
      // updates would all fall 1–2 h later and the province would go quiet in between.
      this.lastEvent[i] = sec - (mix32(this.pop.seed, i, 0xfeed) % periodicEvery);
    } else if (sec >= this.lastEvent[i] + periodicEvery) {
      this.emit(i, sec, K.periodic, sink);
    } else if (this.reason[i] === WAKE.activity) {
      const r = nextUnit(this.rng, i);
      this.emit(i, sec, r < 0.3 ? K.call : r < 0.5 ? K.sms : K.data, sink);
    }
    const hour = Math.floor(((sec + TZ_OFFSET_S) % 86400) / H);
    const activityAt = sec + Math.ceil(-Math.log(1 - nextUnit(this.rng, i)) * (H / ACTIVITY_PER_H[hour]));
    const periodicAt = this.lastEvent[i] + periodicEvery;
    let at = activityAt;
    let why: number = WAKE.activity;
    if (periodicAt < at) {
      at = periodicAt;
      why = WAKE.periodic;
    }
    if (nextChange < at) {
      at = nextChange;
      why = WAKE.check;
    }
    this.schedule(i, Math.max(sec + 1, Math.min(at, sec + WHEEL - 1)), why);
  }

  /** Seconds per hop of a trip: ~1.5 km hops at 25 km/h in town, faster on longer trips. */
  private hopSeconds(i: number): number {
    const cells = this.cells;
    const a = this.from[i];
    const b = this.to[i];
    const d = distanceKm(cells.lat[a], cells.lng[a], cells.lat[b], cells.lng[b]) / this.hops[i];
    const kmh = this.hops[i] > 15 ? 70 : 25;
    return Math.max(20, Math.round((d / kmh) * H));
  }

  /**
   * Runs the simulation up to (not including) simulated second `untilSec`, pushing events into
   * the sink. Returns the number of events produced.
   */
  advanceTo(untilSec: number, sink: EventSink): number {
    const before = this.eventsTotal;
    while (this.cursor < untilSec) {
      const sec = this.cursor;
      const w = sec & (WHEEL - 1);
      // Subscribers scheduled into this second during the loop (sec + 1 minimum) never land here.
      const b = this.buckets[w];
      const f = this.fill[w];
      this.fill[w] = 0;
      for (let k = 0; k < f; k++) {
        const i = b[k];
        if (this.wake[i] !== sec) continue; // a stale entry: rescheduled since
        this.step(i, sec, sink);
      }
      this.cursor++;
      if (this.scenarios.length) this.scenarios = this.scenarios.filter((s) => s.endSec > sec);
    }
    return this.eventsTotal - before;
  }

  /** The current serving cell of every subscriber (a view; do not modify). */
  get servingCells(): Uint32Array {
    return this.cell;
  }
}
