import type { AreaGeometry } from '../contract.ts';

/**
 * Where administrative-area geometries come from. Ingest will export them by GB/T 2260 code; until
 * then a task's `admin` part carries its geometry, and a service may plug in a resolver.
 */
export type AdminAreaResolver = (code: string) => AreaGeometry | undefined;

let resolver: AdminAreaResolver = () => undefined;

/** Installs the process-wide resolver (e.g. ingest's geography once it exports one). */
export function setAdminAreaResolver(r: AdminAreaResolver): void {
  resolver = r;
}

/** The geometry of an admin part: its own, else the resolver's. */
export function adminGeometry(part: { code: string; geometry?: AreaGeometry }): AreaGeometry | undefined {
  return part.geometry ?? resolver(part.code);
}
