import { fileURLToPath } from 'node:url';
import { startTsxProcess, untilReady, type TsxProcess } from './tsx-process.ts';

/** The repository root: a service's entry point is given relative to it, as `npm start` runs it. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What a service's `GET /healthz` said (infra's `startServiceHttp`: 200 or 503, each check's result). */
export interface HealthzAnswer {
  status: number;
  ok: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/**
 * A readiness predicate: every named check is present and ok. A service's health server is up
 * before its work (with no checks yet it says ok); messaging adds its `smpp-*` checks only once it
 * has connected NATS, declared its streams and migrated its send log, so waiting for them is
 * waiting for a ready service.
 * @example startService('messaging', 'messaging/src/main.ts', { env, healthUrl, ready: checksOk('nats', 'smpp-cmcc') })
 */
export function checksOk(...names: string[]): (answer: HealthzAnswer) => boolean {
  return (a) => a.status === 200 && names.every((n) => a.checks[n]?.ok === true);
}

/** `GET url` read as a healthz answer; undefined while nothing answers. */
export async function readHealthz(url: string): Promise<HealthzAnswer | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let body: Partial<HealthzAnswer> = {};
    try {
      body = JSON.parse(text) as Partial<HealthzAnswer>;
    } catch {
      // a plain-text healthz (the simulator's inspection API may answer so): the status alone
    }
    return { status: res.status, ok: body.ok ?? res.ok, checks: body.checks ?? {} };
  } catch {
    return undefined;
  }
}

export interface ServiceOptions {
  /** The service's `/healthz` URL. */
  healthUrl: string;
  /** Added to the environment (LOG_LEVEL defaults to `warn`). */
  env?: Record<string, string>;
  /**
   * When the service is ready, from its healthz answer.
   * @default (a) => a.status === 200
   */
  ready?: (answer: HealthzAnswer) => boolean;
  /** URLs that must answer too (any status): `/healthz` can be up before the service's own port. */
  alsoListening?: string[];
  /** @default 120_000 (two busy cores start a tsx process slowly; under a test hook's own limit) */
  timeoutMs?: number;
  /** @default REPO_ROOT */
  cwd?: string;
  /** Called with each stdout line. */
  onLine?: (line: string) => void;
}

/** A service process and its readiness. */
export interface ServiceProcess extends TsxProcess {
  readonly healthUrl: string;
  /**
   * Resolves once the service is ready; rejects with its output if it exits first or is not ready
   * in time (then it has been stopped). Safe to leave unawaited: a failure is not an unhandled rejection.
   */
  readonly ready: Promise<void>;
  /** Its healthz answers now and `ready` holds of the answer. */
  healthy(): Promise<boolean>;
  /** Its healthz answer now (undefined while nothing answers). */
  healthz(): Promise<HealthzAnswer | undefined>;
}

/**
 * Starts a service from its workspace entry point, as `npm start` does, and waits (in `ready`)
 * until its healthz answer satisfies `ready`. The process is returned at once, so that a stack can
 * register its stop before waiting and start several services side by side.
 * @example
 * const smsc = startService('smsc-sim', 'messaging/src/smsc-sim/main.ts', { env, healthUrl: `${url}/healthz` });
 * cleanups.push(() => smsc.stop());
 * await smsc.ready;
 */
export function startService(name: string, entry: string, opts: ServiceOptions): ServiceProcess {
  const p = startTsxProcess(name, entry, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env, onLine: opts.onLine });
  const accept = opts.ready ?? ((a: HealthzAnswer) => a.status === 200);
  let last: HealthzAnswer | undefined;
  const healthy = async () => {
    last = await readHealthz(opts.healthUrl);
    return last !== undefined && accept(last);
  };
  const also = opts.alsoListening ?? [];
  const listening = async () => {
    try {
      for (const u of also) await (await fetch(u, { signal: AbortSignal.timeout(10_000) })).arrayBuffer();
      return true;
    } catch {
      return false;
    }
  };
  const ready = untilReady(
    p,
    `ready at ${opts.healthUrl}`,
    async () => (await healthy()) && (await listening()),
    opts.timeoutMs ?? 120_000,
    300,
  ).catch((err: Error) => {
    throw new Error(`${err.message}${last ? `\nits last healthz answer: ${JSON.stringify(last)}` : ''}`, { cause: err });
  });
  ready.catch(() => undefined);
  return Object.assign(p, { healthUrl: opts.healthUrl, ready, healthy, healthz: () => readHealthz(opts.healthUrl) });
}
