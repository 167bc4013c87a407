import { CARRIERS } from '@geo/ingest';
import type { CityLocator } from '../geofence/city-locator.ts';
import { NO_CELL, type Presence } from '../presence/presence.ts';
import type { PersonView } from '../rules/evaluate.ts';

/** What rules see of a subscriber: their profile and the city their serving cell lies in (looked up once per cell). */
export class PersonViews {
  private cellCity = new Int32Array(1024);

  constructor(
    private readonly presence: Presence,
    private readonly cityOf: CityLocator,
  ) {}

  /** Only the carrier: all a task without crowd rules reads (no profile object or city per person). */
  private readonly bare: PersonView[] = CARRIERS.map((carrier) => ({ carrier }));

  /**
   * What rules see of subscriber `i`; `rules` false: what a task without crowd rules reads (its
   * carrier), which keeps a 1,000,000-person activation from building a profile per person.
   */
  of(i: number, rules = true): PersonView {
    if (!rules) return this.bare[this.presence.carrier[i]!]!;
    const v: PersonView = this.presence.profile(i);
    v.here = this.cityOfCell(this.presence.cell[i]);
    return v;
  }

  /** The city code of cell `c`, or undefined. */
  private cityOfCell(c: number): string | undefined {
    if (c === NO_CELL) return undefined;
    if (c >= this.cellCity.length) {
      const a = new Int32Array(Math.max(this.cellCity.length * 2, c + 1));
      a.set(this.cellCity);
      this.cellCity = a;
    }
    let code = this.cellCity[c];
    if (code === 0) {
      const cells = this.presence.cells;
      const city = this.cityOf(cells.lng[c], cells.lat[c]);
      code = this.cellCity[c] = city ? Number(city) : -1;
    }
    return code > 0 ? String(code).padStart(6, '0') : undefined;
  }
}
