import { randomUUID } from 'node:crypto';
import type { Deps } from '../http/context.ts';

/**
 * Several portal instances share one PostgreSQL server (#19). Work that one of them must do alone
 * (publishing a send, running an upload job) is claimed with a lease: the row names its owner and
 * the time until which the claim holds, the owner renews it while it works, and another instance may
 * take it over (or fail it) once it has expired — a killed instance renews nothing.
 */

/** How long a claim holds without being renewed; the owner renews it at a third of this. @default 30000 */
export const LEASE_MS = 30_000;

const ids = new WeakMap<Deps, string>();

/** This portal instance's name in lease columns: unique per process and per portal in it (tests run two). */
export function instanceId(deps: Deps): string {
  let id = ids.get(deps);
  if (!id) ids.set(deps, (id = `${process.pid}-${randomUUID().slice(0, 8)}`));
  return id;
}

const leases = new WeakMap<Deps, number>();

/** The lease length of these deps' claims. @default LEASE_MS */
export function leaseMs(deps: Deps): number {
  return leases.get(deps) ?? LEASE_MS;
}

/** Shortens (or lengthens) this portal's leases: tests of a takeover, which should not wait 30 s. */
export function setLeaseMs(deps: Deps, ms: number): void {
  leases.set(deps, ms);
}
