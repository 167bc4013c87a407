import { SHANGHAI_OFFSET_MS } from '@geo/infra/basics';
import type { CellTable } from './cells.ts';
import { CELL_KIND } from './cells.ts';
import { ATTRACTIONS } from './places.ts';
import { PROFILE, type Population } from './population.ts';
import { distanceKm, mix32, pickCumulative, unit } from './random.ts';

/** China Standard Time: local time of day drives the rhythm. */
export const TZ_OFFSET_S = SHANGHAI_OFFSET_MS / 1000;
const H = 3600;

/**
 * Where a subscriber means to be over one day: a few segments (start second of the local day →
 * cell). A pure function of (seed, subscriber, day), so nothing per day is stored.
 */
export class DayPlanner {
  /** Segment starts (seconds of the local day) and cells, valid up to `length`. */
  readonly start = new Float64Array(8);
  readonly cell = new Uint32Array(8);
  length = 0;
  private readonly leisure: Uint32Array[];
  private readonly attractionCells: Uint32Array[];
  private readonly attractionCum: Float64Array[];

  constructor(
    private readonly cells: CellTable,
    private readonly pop: Population,
  ) {
    // Evening and weekend trips go to a city's centre; visitors go to attractions, near ones first.
    this.leisure = cells.cities.map((_, c) => {
      const list: number[] = [];
      for (let k = 0; k < cells.count; k++) if (cells.city[k] === c && cells.kind[k] !== CELL_KIND.rural) list.push(k);
      return Uint32Array.from(list);
    });
    this.attractionCells = ATTRACTIONS.map((a) => Uint32Array.from(cells.within(a.lat, a.lng, a.radiusKm)));
    this.attractionCum = cells.cities.map((city) => {
      const cum = new Float64Array(ATTRACTIONS.length);
      let sum = 0;
      ATTRACTIONS.forEach((a, k) => {
        const d = city.center ? distanceKm(city.center[1], city.center[0], a.lat, a.lng) : 100;
        cum[k] = sum += this.attractionCells[k].length ? a.weight / (1 + (d / 40) ** 2) : 0;
      });
      return cum;
    });
  }

  /** A cell of a named attraction's cluster (`West Lake` and friends), picked by `r` in [0, 1). */
  attractionCell(index: number, r: number): number {
    const list = this.attractionCells[index];
    return list.length ? list[Math.floor(r * list.length)] : this.cells.nearest(ATTRACTIONS[index].lat, ATTRACTIONS[index].lng);
  }

  private key = 0;
  private who = 0;
  // Methods, not closures: this runs on every wake of every subscriber.
  private r(k: number): number {
    return unit(mix32(this.key, this.who, k));
  }
  private leisureCell(city: number, home: number): number {
    const list = this.leisure[city];
    return list.length ? list[Math.floor(this.r(20) * list.length)] : home;
  }

  private push(start: number, cell: number): void {
    this.start[this.length] = start;
    this.cell[this.length] = cell;
    this.length++;
  }

  /** Fills the segments of subscriber `i` for local day `day` (days since 1970-01-01 CST). */
  plan(i: number, day: number): void {
    const { pop } = this;
    this.key = pop.seed ^ day;
    this.who = i;
    const home = pop.homeCell[i];
    const work = pop.workCell[i];
    const city = this.cells.city[home];
    const dow = (day + 4) % 7;
    const weekend = dow === 0 || dow === 6;
    this.length = 0;
    this.push(0, home);
    switch (pop.profile[i]) {
      case PROFILE.commuter:
      case PROFILE.migrant: {
        if (!weekend || (pop.profile[i] === PROFILE.migrant && dow === 6)) {
          const leave = 6.5 * H + this.r(1) * 2.5 * H;
          const back = 17 * H + this.r(2) * 3 * H;
          this.push(leave, work);
          this.push(back, home);
          if (this.r(3) < 0.3) {
            const out = back + 0.5 * H + this.r(4) * H;
            this.push(out, this.leisureCell(city, home));
            this.push(out + 1 * H + this.r(5) * 2 * H, home);
          }
        } else if (this.r(3) < 0.6) {
          const out = 9.5 * H + this.r(4) * 5 * H;
          this.push(out, this.leisureCell(city, home));
          this.push(out + 2 * H + this.r(5) * 4 * H, home);
        }
        break;
      }
      case PROFILE.homebody: {
        if (this.r(1) < 0.7) {
          const out = 7.5 * H + this.r(2) * 3 * H;
          this.push(out, work);
          this.push(out + 1 * H + this.r(3) * (pop.age[i] < 18 && !weekend ? 7 : 3) * H, home);
        }
        if (this.r(4) < 0.25) {
          const out = 18.5 * H + this.r(5) * 1.5 * H;
          this.push(out, this.leisureCell(city, home));
          this.push(out + 1.5 * H, home);
        }
        break;
      }
      case PROFILE.visitor: {
        const cum = this.attractionCum[city];
        const a = pickCumulative(cum, this.r(1));
        const b = pickCumulative(cum, this.r(2));
        const t1 = 8.5 * H + this.r(3) * 2 * H;
        const t2 = 12.5 * H + this.r(4) * 1.5 * H;
        this.push(t1, this.attractionCell(a, this.r(5)));
        this.push(t2, this.attractionCell(b, this.r(6)));
        this.push(16.5 * H + this.r(7) * 2 * H, this.r(8) < 0.4 ? this.leisureCell(city, home) : home);
        this.push(20 * H + this.r(9) * 2.5 * H, home);
        break;
      }
    }
  }

  /**
   * The planned cell at local second-of-day `tod` of the day last planned; `nextChange` becomes
   * the next second of that day when the plan changes (86400 when it does not change again today).
   */
  at(tod: number): number {
    let k = 0;
    while (k + 1 < this.length && this.start[k + 1] <= tod) k++;
    this.nextChange = k + 1 < this.length ? this.start[k + 1] : 86400;
    return this.cell[k];
  }
  /** Set by `at`. */
  nextChange = 86400;
}
