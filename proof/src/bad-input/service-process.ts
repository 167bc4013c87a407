import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** The repository root (this file is proof/src/bad-input/…). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout + stderr so far (the last 200 kB), for failure messages. */
  output(): string;
  /** True while the process has not exited. */
  alive(): boolean;
  /** `GET <healthUrl>` answers 200. */
  healthy(): Promise<boolean>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
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
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  // Never outlive the test worker, even when a hook times out before stop() runs.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), process.off('exit', killOnExit), r())));
  const svc: ServiceProcess = {
    name,
    child,
    output: () => out,
    alive: () => !exited,
    async healthy() {
      try {
        const res = await fetch(healthUrl, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        return res.status === 200;
      } catch {
        return false;
      }
    },
    async stop(graceMs = 15_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(t);
    },
  };
  const end = Date.now() + timeoutMs;
  const listening = async () => {
    for (const url of opts.alsoListening ?? []) {
      try {
        await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).arrayBuffer();
      } catch {
        return false;
      }
    }
    return true;
  };
  while (!(await svc.healthy()) || !(await listening())) {
    if (exited) throw new Error(`${name} exited during start:\n${out}`);
    if (Date.now() > end) {
      await svc.stop(1000);
      throw new Error(`${name} not healthy after ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return svc;
}
