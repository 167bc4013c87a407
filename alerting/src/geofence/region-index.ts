import Flatbush from 'flatbush';
import type { CompiledRegion } from './point-in-region.ts';

/**
 * Many regions behind one bounding-box index (flatbush): the boxes only pick candidates, the exact
 * part test decides. Used once per cell (the engine caches the answer), so 100 tasks cost little.
 */
export class RegionIndex {
  private readonly index: Flatbush | undefined;
  private readonly owners: number[] = [];
  private readonly tests: ((x: number, y: number) => boolean)[] = [];

  constructor(regions: { key: number; region: CompiledRegion }[]) {
    for (const { key, region } of regions)
      for (const part of region.parts) {
        this.owners.push(key);
        this.tests.push(part.contains);
      }
    if (this.owners.length === 0) return;
    this.index = new Flatbush(this.owners.length);
    for (const { region } of regions) for (const p of region.parts) this.index.add(p.bbox[0], p.bbox[1], p.bbox[2], p.bbox[3]);
    this.index.finish();
  }

  /** Keys of the regions containing the point, ascending, without repeats. */
  matching(lng: number, lat: number): number[] {
    if (!this.index) return [];
    const hits = this.index.search(lng, lat, lng, lat);
    const keys: number[] = [];
    for (const h of hits) {
      const k = this.owners[h];
      if (!keys.includes(k) && this.tests[h](lng, lat)) keys.push(k);
    }
    return keys.sort((a, b) => a - b);
  }
}
