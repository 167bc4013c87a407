import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { answers200, startTsxProcess, untilReady, type TsxProcess } from '@geo/infra/testing';

/** The repository root (this file is proof/src/bad-input/…). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export interface ServiceProcess extends TsxProcess {
  /** `GET <healthUrl>` answers 200. */
  healthy(): Promise<boolean>;
}

/**
 * Runs a workspace entry point (`ingest/src/main.ts`, …) as its own process, the way `npm start`
 * does, so that "the service stays up" means the real process is still alive and healthy.
 */
export async function startService(
  name: string,
  entry: string,
  env: Record<string, string>,
  healthUrl: string,
  opts: {
    timeoutMs?: number;
    /** URLs that must answer (any status) too: `/healthz` can be up before the service's own port. */ alsoListening?: string[];
  } = {},
): Promise<ServiceProcess> {
  const p = startTsxProcess(name, entry, { cwd: REPO_ROOT, env });
  await untilReady(p, `healthy at ${healthUrl}`, answers200(healthUrl, opts.alsoListening), opts.timeoutMs ?? 120_000);
  return { ...p, healthy: answers200(healthUrl) };
}
