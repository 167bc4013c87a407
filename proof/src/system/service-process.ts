import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: service entry points are given relative to it, as `npm start` does. */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export interface ServiceSpec {
  /** `alerting`, `messaging`, `insight`, `ingest`, `smsc-sim`. */
  name: string;
  /** Entry point relative to the repository root, e.g. `alerting/src/main.ts`. */
  entry: string;
  healthPort: number;
  env: Record<string, string>;
}

/** An exit nobody asked for (a crash), with the end of the log at that moment. */
export interface UnexpectedExit {
  service: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
  /** `start`: it died before it was ready (e.g. a server it needs at start-up was down); `running`: a crash. */
  phase: 'start' | 'running';
  logTail: string;
}

const SERVER_URL_VARS = ['NATS_URL', 'CLICKHOUSE_URL', 'DATABASE_URL'];

/** Ends `child` once `parent` is gone (a test runner killed by a time-out must not leave services behind). */
function watchdog(parent: number, child: number): void {
  const script =
    `while kill -0 ${parent} 2>/dev/null && kill -0 ${child} 2>/dev/null; do sleep 1; done; ` +
    `if kill -0 ${child} 2>/dev/null; then kill -TERM ${child}; sleep 5; kill -KILL ${child} 2>/dev/null; fi`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

export function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

/**
 * One service of the system as its own Node process (tsx), the way `npm start`'s supervisor runs
 * it: log appended to `<logDir>/<name>.log`, restarted after an unexpected exit (recorded, because
 * a crash under faults is a finding), killed with SIGKILL on demand.
 */
export class ServiceProcess {
  readonly logFile: string;
  child?: ChildProcess;
  /** Processes started so far (1 + restarts). */
  starts = 0;
  readonly unexpected: UnexpectedExit[] = [];
  /** Set by the system once the service said it is ready; cleared at each start. */
  ready = false;
  private expectExit = false;
  private stopped = false;
  private exited?: Promise<void>;

  constructor(
    readonly spec: ServiceSpec,
    logDir: string,
    private readonly say: (msg: string) => void = () => undefined,
  ) {
    this.logFile = join(logDir, `${spec.name}.log`);
    mkdirSync(dirname(this.logFile), { recursive: true });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.stopped = false;
    this.expectExit = false;
    this.ready = false;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of SERVER_URL_VARS) delete env[k];
    Object.assign(env, this.spec.env, { GEO_SUPERVISED: '1' });
    const out = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, this.spec.entry)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    if (child.pid === undefined) throw new Error(`${this.spec.name}: could not start ${this.spec.entry}`);
    watchdog(process.pid, child.pid);
    this.child = child;
    this.starts++;
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        resolveExit();
        if (this.expectExit || this.stopped) return;
        this.unexpected.push({
          service: this.spec.name,
          code,
          signal,
          at: Date.now(),
          phase: this.ready ? 'running' : 'start',
          logTail: tail(this.logFile),
        });
        this.say(`! ${this.spec.name} exited unexpectedly (code ${code}, signal ${signal}); restarting in 1 s`);
        setTimeout(() => !this.stopped && this.child === child && this.start(), 1000).unref();
      });
    });
  }

  /** `kill -9`: no chance to drain, flush or ack. Resolves when the process is gone. */
  async kill9(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.expectExit = true;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful: drain and flush), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Log text written since `from` (a byte offset from {@link logSize}). */
  log(from = 0): string {
    try {
      return readFileSync(this.logFile).subarray(from).toString('utf8');
    } catch {
      return '';
    }
  }

  logSize(): number {
    try {
      return readFileSync(this.logFile).length;
    } catch {
      return 0;
    }
  }

  /** Waits until the log (from `from`) contains `pattern`: services say "<name> ready" once they consume. */
  async waitForLog(pattern: RegExp, timeoutMs: number, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pattern.test(this.log(from))) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${this.spec.name}: no ${pattern} in its log after ${timeoutMs} ms; last lines:\n${tail(this.logFile)}`);
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`http://127.0.0.1:${this.spec.healthPort}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (r.ok) return;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`${this.spec.name}: not healthy after ${timeoutMs} ms; last lines:\n${tail(this.logFile)}`);
  }

  /** Its /metrics, each metric summed over its label sets (counters and gauges). */
  async metrics(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    try {
      const text = await (await fetch(`http://127.0.0.1:${this.spec.healthPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})? ([-0-9.e+]+|NaN)$/.exec(line);
        if (m) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
      }
    } catch {
      /* not answering: empty */
    }
    return out;
  }

  /** `process_cpu_seconds_total` and `process_resident_memory_bytes` from its /metrics. */
  async usage(): Promise<{ cpuSeconds: number; rssBytes: number } | undefined> {
    try {
      const text = await (await fetch(`http://127.0.0.1:${this.spec.healthPort}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
      const num = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
      return { cpuSeconds: num('process_cpu_seconds_total'), rssBytes: num('process_resident_memory_bytes') };
    } catch {
      return undefined;
    }
  }
}
