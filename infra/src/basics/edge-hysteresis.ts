/**
 * Edge hysteresis: when a person jittering across a region's edge (cell handovers back and forth)
 * has really left, so that coming back counts as a new entry. One rule for alerting's entries
 * ("walked in later", dwell) and insight's inflow / outflow, so the two agree by construction.
 *
 * Where a person is, relative to a region, is one of three zones, always judged on the serving
 * cell's position (the cell centre, as every region test here; H3 cells may speed the test up but
 * never decide it):
 * - `inside`: inside the region's exact geometry;
 * - `near`: outside, but no more than `bufferMeters` from it (the region grown by the buffer:
 *   polygon and area edges pushed out, circle radii and corridor widths enlarged);
 * - `far`: further out, or nowhere known (a detach: the phone left the network).
 *
 * A person counts as having left only after being `far` for at least `minOutsideSeconds` without a
 * break (a `near` or `inside` sighting ends the stretch); they left at the moment that stretch
 * reached its length (`farSince + minOutsideSeconds`). Only then does a later `inside` count as a
 * new entry. With no buffer and no minimum (the default) every step out is a leave and every step
 * in an entry: the behaviour without hysteresis.
 */

/** A task's or a query's edge hysteresis. */
export interface EdgeHysteresis {
  /** Metres outside the region that still do not count as away. @default 0 */
  bufferMeters?: number;
  /** Seconds a person must stay away (beyond the buffer) before a return counts as a new entry. @default 0 */
  minOutsideSeconds?: number;
}

export type EdgeZone = 'inside' | 'near' | 'far';

/** Most metres a buffer may have (a district's width): larger is a different region, not an edge. */
export const MAX_HYSTERESIS_BUFFER_M = 5_000;
/** Most seconds a minimum time away may have (a day). */
export const MAX_HYSTERESIS_OUTSIDE_S = 86_400;

/** True when `h` changes nothing (absent, or zero buffer and zero time). */
export const noHysteresis = (h: EdgeHysteresis | undefined): boolean =>
  !h || (!((h.bufferMeters ?? 0) > 0) && !((h.minOutsideSeconds ?? 0) > 0));

/** A person's state for one region: `out` (never entered, or left), `in`, or `away` since a time. */
export interface EdgeState {
  phase: 'out' | 'in' | 'away';
  /** Away: when the current unbroken `far` stretch began (s), or -1 while `near`. */
  farSince: number;
}

/** Someone not (or no longer) counted in the region. */
export const EDGE_OUT: Readonly<EdgeState> = Object.freeze({ phase: 'out', farSince: -1 });

/** What one sighting did. */
export interface EdgeStep {
  state: EdgeState;
  /** This sighting is a new entry (inflow; for alerting a new "walked in", dwell from now). */
  entered: boolean;
  /** The person had left (outflow) at this time (s), learnt at this sighting; else undefined. */
  leftAt: number | undefined;
}

const IN: EdgeState = Object.freeze({ phase: 'in', farSince: -1 }) as EdgeState;
const NEAR: EdgeState = Object.freeze({ phase: 'away', farSince: -1 }) as EdgeState;

const secondsAway = (h: EdgeHysteresis | undefined) => Math.max(0, h?.minOutsideSeconds ?? 0);

/**
 * The time (s) an `away` person left, if their far stretch is long enough by `t`; else undefined.
 * @example leftBy({ phase: 'away', farSince: 100 }, 400, { minOutsideSeconds: 300 }) // 400
 */
export function leftBy(s: EdgeState, t: number, h: EdgeHysteresis | undefined): number | undefined {
  if (s.phase !== 'away' || s.farSince < 0) return undefined;
  const at = s.farSince + secondsAway(h);
  return t >= at ? at : undefined;
}

/**
 * One sighting of a person at time `t` (s, non-decreasing per person) in `zone`: the new state,
 * whether it is a new entry, and whether the person had left meanwhile.
 *
 * @example
 * let s = EDGE_OUT;
 * s = edgeStep(s, 'inside', 0, h).state;   // entered
 * s = edgeStep(s, 'far', 30, h).state;     // away since 30
 * edgeStep(s, 'inside', 60, { minOutsideSeconds: 300 }).entered // false: back within 5 minutes
 */
export function edgeStep(s: EdgeState, zone: EdgeZone, t: number, h: EdgeHysteresis | undefined): EdgeStep {
  // Without a buffer nothing outside is near, whatever the caller's zones say.
  if (zone === 'near' && !((h?.bufferMeters ?? 0) > 0)) zone = 'far';
  const leftAt = leftBy(s, t, h);
  const phase = leftAt === undefined ? s.phase : 'out';
  if (zone === 'inside') return { state: IN, entered: phase === 'out', leftAt };
  if (phase === 'out') return { state: EDGE_OUT, entered: false, leftAt };
  if (zone === 'near') return { state: NEAR, entered: false, leftAt };
  // Far: a stretch begins (or goes on); with no minimum it is a leave at once.
  const farSince = phase === 'away' && s.farSince >= 0 ? s.farSince : t;
  const away: EdgeState = { phase: 'away', farSince };
  const now = leftBy(away, t, h);
  return now === undefined ? { state: away, entered: false, leftAt } : { state: EDGE_OUT, entered: false, leftAt: now };
}

/**
 * The zone of a position: `inside` when the exact region holds it, `near` when the region grown by
 * the buffer does, else `far`. `inHalo` is only asked for positions outside.
 */
export function edgeZone(inside: boolean, inHalo: () => boolean): EdgeZone {
  return inside ? 'inside' : inHalo() ? 'near' : 'far';
}

/** Entries and leaves of one person's sightings, in order (times in s). */
export interface EdgeCrossings {
  /** Times of the sightings that were new entries. */
  entries: number[];
  /** Times the person left. */
  leaves: number[];
  state: EdgeState;
}

/**
 * Runs {@link edgeStep} over one person's sightings (in time order), then settles at `until` (s):
 * a far stretch long enough by then is a leave too.
 */
export function edgeCrossings(
  sightings: Iterable<readonly [t: number, zone: EdgeZone]>,
  h: EdgeHysteresis | undefined,
  until = Infinity,
  from: EdgeState = EDGE_OUT,
): EdgeCrossings {
  const out: EdgeCrossings = { entries: [], leaves: [], state: from };
  for (const [t, zone] of sightings) {
    const r = edgeStep(out.state, zone, t, h);
    if (r.leftAt !== undefined) out.leaves.push(r.leftAt);
    if (r.entered) out.entries.push(t);
    out.state = r.state;
  }
  const last = leftBy(out.state, until, h);
  if (last !== undefined) {
    out.leaves.push(last);
    out.state = EDGE_OUT;
  }
  return out;
}
