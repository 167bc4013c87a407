import type { AreaGeometry } from '../contract.ts';

/**
 * Where administrative-area geometries come from, by GB/T 2260 code: ingest's shipped geography
 * ({@link installIngestAdminAreas}), with the boundaries an operator loaded over it. A task's `admin`
 * part may carry its own geometry (the portal attaches the loaded ones, with their version), which
 * always wins.
 */
export type AdminAreaResolver = (code: string) => AreaGeometry | undefined;

let resolver: AdminAreaResolver = () => undefined;
let overlay: ReadonlyMap<string, AreaGeometry> | undefined;

/** Installs the process-wide resolver (e.g. ingest's geography once it exports one). */
export function setAdminAreaResolver(r: AdminAreaResolver): void {
  resolver = r;
}

/**
 * Boundaries loaded over the resolver's (an operator's file, the portal's active version): consulted
 * first, whichever resolver is installed before or after. `undefined` removes them.
 */
export function setAdminAreaOverlay(areas: ReadonlyMap<string, AreaGeometry> | undefined): void {
  overlay = areas;
}

/** The geometry of an admin part: its own, else the overlay's, else the resolver's. */
export function adminGeometry(part: { code: string; geometry?: AreaGeometry }): AreaGeometry | undefined {
  return part.geometry ?? overlay?.get(part.code) ?? resolver(part.code);
}
