import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves when the process exits for any reason. */
  readonly exited: Promise<number | null>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr go here (appended). */
  logFile: string;
  /** Written with the child's pid; a stale one from a crashed run is killed first. */
  pidFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Ends the child when this process dies without stopping it (kill -9, a test runner killed by a
   * time-out): a small `sh` watchdog polls this process and sends SIGTERM, then SIGKILL.
   * @default true
   */
  dieWithParent?: boolean;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills a process left behind by an earlier run that was itself killed (its pid file remains). */
export async function killStale(pidFile: string, marker: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes(marker)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** A detached shell that outlives us only long enough to end `child` once `parent` is gone. */
function watchdog(parent: number, child: number): void {
  const script =
    `while kill -0 ${parent} 2>/dev/null && kill -0 ${child} 2>/dev/null; do sleep 1; done; ` +
    `if kill -0 ${child} 2>/dev/null; then kill -TERM ${child}; sleep 10; kill -KILL ${child} 2>/dev/null; fi`;
  const w = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  w.unref();
}

export function startProcess(opts: StartOptions): ManagedProcess {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const out = openSync(opts.logFile, 'a');
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', out, out],
  });
  if (child.pid === undefined) throw new Error(`${opts.name}: failed to start ${opts.command}`);
  const pid = child.pid;
  if (opts.pidFile) writeFileSync(opts.pidFile, String(pid));
  if (opts.dieWithParent !== false) watchdog(process.pid, pid);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      if (opts.pidFile) rmSync(opts.pidFile, { force: true });
      resolve(code ?? (signal ? 128 : null));
    });
    child.on('error', () => resolve(null));
  });
  let stopping: Promise<void> | undefined;
  return {
    name: opts.name,
    pid,
    child,
    exited,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

export class StartupError extends Error {
  override name = 'StartupError';
  readonly code = 'STARTUP';
}

/** Polls `ready()` until it resolves true, the process exits, or the timeout passes. */
export async function waitReady(proc: ManagedProcess, ready: () => Promise<boolean>, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      if (await ready()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  let tail = '';
  try {
    tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    /* no log */
  }
  await proc.stop(2000);
  throw new StartupError(`${proc.name} ${exited ? 'exited' : `was not ready after ${timeoutMs} ms`}; last lines of ${logFile}:\n${tail}`);
}
