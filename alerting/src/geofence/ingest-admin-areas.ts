import { loadAdminAreas } from '@geo/ingest';
import type { AreaGeometry } from '../contract.ts';
import { setAdminAreaResolver } from './admin-areas.ts';

/** Resolves administrative areas in tasks by GB/T 2260 code from ingest's geography (loaded once). */
export function installIngestAdminAreas(provinceCode?: string): void {
  const areas = new Map(loadAdminAreas(provinceCode).map((a) => [a.code, a.geometry as AreaGeometry | null]));
  setAdminAreaResolver((code) => areas.get(code) ?? undefined);
}
