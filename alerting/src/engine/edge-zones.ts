import { edgeZone, noHysteresis, type EdgeHysteresis } from '@geo/infra/basics';
import type { Region, RegionPart } from '../contract.ts';
import { compileRegion, type CompiledRegion } from '../geofence/point-in-region.ts';
import { NO_CELL, type CellTable } from '../presence/presence.ts';
import type { TaskRuntime } from './task-runtime.ts';

/**
 * The region grown by `metres`: "no more than `metres` outside it" is inside this. Polygons,
 * rectangles and areas grow by their edge buffer, circles by their radius, corridors by their width.
 */
export function haloRegion(region: Region, metres: number): Region {
  const grow = (p: RegionPart): RegionPart =>
    p.kind === 'circle' ? { ...p, radiusM: p.radiusM + metres } : p.kind === 'polyline' ? { ...p, bufferM: p.bufferM + metres } : p;
  return { parts: region.parts.map(grow), edgeBufferM: (region.edgeBufferM ?? 0) + metres };
}

/**
 * Per task with edge hysteresis, the zone (`near` / `far`) of a cell outside its region, judged once
 * per cell and region (the halo's exact test is the costly part).
 */
export class EdgeZones {
  private readonly halos = new WeakMap<TaskRuntime, { region: CompiledRegion; source: Region; metres: number; zone: Int8Array }>();

  constructor(private readonly cells: CellTable) {}

  /** The task's hysteresis, or undefined when it changes nothing. */
  static of(rt: TaskRuntime): EdgeHysteresis | undefined {
    const h = rt.task.spec.hysteresis;
    return noHysteresis(h) ? undefined : h;
  }

  /** The zone of cell `c` (outside the task's region; NO_CELL: a detach, nowhere known). */
  zone(rt: TaskRuntime, h: EdgeHysteresis, c: number): 'near' | 'far' {
    if (c === NO_CELL) return 'far';
    const metres = h.bufferMeters ?? 0;
    if (!(metres > 0)) return 'far';
    let halo = this.halos.get(rt);
    if (!halo || halo.source !== rt.task.spec.region || halo.metres !== metres) {
      halo = {
        region: compileRegion(haloRegion(rt.task.spec.region, metres)),
        source: rt.task.spec.region,
        metres,
        zone: new Int8Array(0),
      };
      this.halos.set(rt, halo);
    }
    if (c >= halo.zone.length) {
      const z = new Int8Array(Math.max(this.cells.size, c + 1, halo.zone.length * 2));
      z.set(halo.zone);
      halo.zone = z;
    }
    if (halo.zone[c] === 0) {
      const reg = halo.region;
      halo.zone[c] = edgeZone(false, () => reg.contains(this.cells.lng[c], this.cells.lat[c])) === 'near' ? 1 : 2;
    }
    return halo.zone[c] === 1 ? 'near' : 'far';
  }
}
