import { spawn, type ChildProcess } from 'node:child_process';
import { untilValue } from './until.ts';

/** A TypeScript entry point run as its own Node process (`node --import tsx <entry>`), as `npm start` runs a service. */
export interface TsxProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout + stderr so far (the last 200 kB), for failure messages. */
  output(): string;
  /** True while the process has not exited. */
  alive(): boolean;
  /** Resolves when the process has exited (at once if it already has). */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface TsxProcessOptions {
  /** Working directory; entry paths are relative to it. */
  cwd: string;
  /** Added to this process's environment (LOG_LEVEL defaults to `warn`). */
  env?: Record<string, string>;
  /** Called with each stdout line (e.g. a `READY <url>` line the process prints). */
  onLine?: (line: string) => void;
}

/**
 * Starts `entry` under tsx. Its output is kept (not printed); it never outlives the test worker,
 * even when a hook times out before `stop()` runs.
 * @example const p = startTsxProcess('insight', 'insight/src/main.ts', { cwd: ROOT, env }); await untilReady(p, 'healthy', healthUrlOk(url));
 */
export function startTsxProcess(name: string, entry: string, opts: TsxProcessOptions): TsxProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: opts.cwd,
    env: { ...process.env, LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let partial = '';
  child.stdout!.on('data', (b: Buffer) => {
    const text = b.toString();
    out = (out + text).slice(-200_000);
    if (!opts.onLine) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) opts.onLine(l);
  });
  child.stderr!.on('data', (b: Buffer) => {
    out = (out + b.toString()).slice(-200_000);
  });
  let gone = false;
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      gone = true;
      process.off('exit', killOnExit);
      r();
    }),
  );
  return {
    name,
    child,
    output: () => out,
    alive: () => !gone,
    exited,
    async stop(graceMs = 15_000) {
      if (gone) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Waits until `ready()` holds; fails at once, with the process's output, if it exits meanwhile, and
 * after `timeoutMs` stops it and fails with its output.
 */
export async function untilReady(
  p: TsxProcess,
  what: string,
  ready: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
  pollMs = 250,
): Promise<void> {
  let state: 'ready' | 'exited';
  try {
    state = await untilValue<'ready' | 'exited'>(
      `${p.name}: ${what}`,
      async () => (!p.alive() ? 'exited' : (await ready()) ? 'ready' : undefined),
      timeoutMs,
      pollMs,
    );
  } catch (err) {
    await p.stop(1000);
    throw new Error(`${(err as Error).message}; its output:\n${p.output()}`, { cause: err });
  }
  if (state === 'exited') throw new Error(`${p.name} exited before ${what}; its output:\n${p.output()}`);
}

/** A readiness check: `GET url` answers 200 (and every URL in `alsoListening` answers at all). */
export function answers200(url: string, alsoListening: string[] = []): () => Promise<boolean> {
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status !== 200) return false;
      for (const u of alsoListening) await (await fetch(u, { signal: AbortSignal.timeout(10_000) })).arrayBuffer();
      return true;
    } catch {
      return false;
    }
  };
}
