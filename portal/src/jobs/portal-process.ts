/**
 * A portal in a process of its own, for tests that kill one instance (two-instances.int):
 * `node --import tsx portal/src/jobs/portal-process.ts` with PORTAL_CONFIG (a PortalConfig as JSON)
 * and JOB_LEASE_MS. Prints `READY <url>` once it serves; SIGKILL is the point.
 */
import { createLogger } from '@geo/infra';
import type { PortalConfig } from '../config.ts';
import { createPortal } from '../portal.ts';
import { setLeaseMs } from './instance.ts';

const cfg = JSON.parse(process.env.PORTAL_CONFIG ?? '{}') as PortalConfig;
const portal = await createPortal(cfg, createLogger('portal-process', 'warn'));
if (process.env.JOB_LEASE_MS) setLeaseMs(portal.deps, Number(process.env.JOB_LEASE_MS));
process.stdout.write(`READY ${portal.url}\n`);
process.on('SIGTERM', () => void portal.stop().then(() => process.exit(0)));
