import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats } from '@geo/infra';
import {
  freePort,
  startClickHouseServer,
  startNatsCluster,
  startNatsServer,
  type RunningClickHouse,
  type RunningNats,
  type RunningNatsCluster,
} from '@geo/infra/testing';
import { declareSystemTopology } from '@geo/infra/topology';
import { ServiceProcess, tail, type ServiceSpec, type UnexpectedExit } from './service-process.ts';
import { SmscControl } from './smsc-control.ts';

export type ServiceName = 'smsc-sim' | 'alerting' | 'alerting-2' | 'messaging' | 'insight' | 'ingest';

export interface SystemOptions {
  /** Where servers keep data and services log; a fresh temp folder when omitted (removed at stop). */
  dir?: string;
  /** Simulated subscribers (ingest's province simulator). @default 20_000 */
  subscribers?: number;
  /** Simulated seconds per real second. @default 1 */
  simSpeed?: number;
  /** @default 7 */
  simSeed?: number;
  /** Extra env per service (e.g. a shorter ACK_WAIT_MS for messaging). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Simulated SMSC behaviour at start (env of `messaging/src/smsc-sim/main.ts`). */
  smscEnv?: Record<string, string>;
  /** Kill -9 and restart a service whose /healthz stops answering (a hang). @default true */
  liveness?: boolean;
  /** Services to start with the servers. @default smsc-sim, alerting, messaging, insight (and alerting-2 with `alertingInstances: 2`) */
  services?: ServiceName[];
  /**
   * Alerting processes: with 2, a second one (`alerting-2`, its env from `env.alerting` too) shares
   * the LOCATION shards with the first by leases (#19). Instance ids are fixed (`alerting-1`,
   * `alerting-2`), so a restarted process takes its leases back at once. @default 1
   */
  alertingInstances?: 1 | 2;
  /**
   * Run NATS as a JetStream cluster of this many nats-server processes on loopback (3 for R3) instead
   * of one server; every service then declares its streams and buckets with `STREAM_REPLICAS` = this.
   */
  natsNodes?: number;
  /** Services log at this level; their readiness lines are at info. @default 'info' */
  logLevel?: string;
  say?: (msg: string) => void;
}

/**
 * A whole running system, as `npm start` runs it: nats-server (JetStream) and clickhouse-server in a
 * folder of their own, and each service as its own process with the same env the orchestrator
 * gives it. Everything can be broken: services killed with SIGKILL, servers restarted on the same
 * ports and data, the simulated SMSC told to drop binds or throttle.
 *
 * Ingest (with the simulator) is not started by {@link startSystem}: call `startService('ingest')`
 * once the task is in place, so the ground truth starts with the first event.
 */
export interface RunningSystem {
  dir: string;
  logDir: string;
  natsUrl: string;
  clickhouseUrl: string;
  services: Record<ServiceName, ServiceProcess>;
  smsc: SmscControl;
  /** Starts a service not started yet (ingest) and waits until it says it is ready. */
  startService(name: ServiceName): Promise<void>;
  /** Stops a service gracefully (SIGTERM): the liveness probe leaves it alone. */
  stopService(name: ServiceName): Promise<void>;
  /** `kill -9`, then starts it again and waits until it is ready. */
  killAndRestart(name: ServiceName, downMs?: number): Promise<void>;
  /** `kill -9` and leave it down (the liveness probe does not restart it); `startService` brings it back. */
  killService(name: ServiceName): Promise<void>;
  /** The NATS cluster, when started with `natsNodes` (kill or restart single nodes). */
  natsCluster?: RunningNatsCluster;
  /** Stops nats-server (SIGTERM, or SIGKILL with `hard`), then starts it on the same port and store. */
  restartNats(opts?: { hard?: boolean; downMs?: number }): Promise<void>;
  restartClickHouse(opts?: { hard?: boolean; downMs?: number }): Promise<void>;
  /** Pids of nats-server and clickhouse-server (for CPU and memory figures). */
  serverPids(): { nats: number; clickhouse: number };
  /** Service exits nobody asked for. */
  unexpectedExits(): UnexpectedExit[];
  /**
   * Services the liveness probe killed and restarted because their `/healthz` stopped answering
   * at all (a blocked event loop), as an orchestrator's liveness check would.
   */
  hangs: UnexpectedExit[];
  stop(opts?: { keep?: boolean }): Promise<void>;
}

const READY: Record<ServiceName, RegExp> = {
  'smsc-sim': /simulated SMSCs ready/,
  alerting: /alerting ready/,
  'alerting-2': /alerting ready/,
  messaging: /messaging ready/,
  insight: /insight ready/,
  ingest: /ingest ready/,
};

/** No answer (not even a 503) from /healthz this many times in a row, 3 s each, 2 s apart: the process is hung. */
const LIVENESS_FAILURES = 6;

export async function startSystem(opts: SystemOptions = {}): Promise<RunningSystem> {
  const say = opts.say ?? (() => undefined);
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'geo-proof-'));
  const logDir = join(dir, 'logs');
  const natsPort = await freePort();
  const chPort = await freePort();
  const natsDir = join(dir, 'nats');
  const chDir = join(dir, 'clickhouse');
  let nats: RunningNats | undefined;
  let cluster: RunningNatsCluster | undefined;
  let ch: RunningClickHouse | undefined;
  const services = {} as Record<ServiceName, ServiceProcess>;
  try {
    [nats, cluster, ch] = await Promise.all([
      opts.natsNodes ? undefined : startNatsServer({ dataDir: natsDir, port: natsPort, log: say }),
      opts.natsNodes ? startNatsCluster({ dataDir: natsDir, nodes: opts.natsNodes, log: say }) : undefined,
      startClickHouseServer({ dataDir: chDir, httpPort: chPort, log: say }),
    ]);
  } catch (err) {
    await Promise.allSettled([nats?.stop(), cluster?.stop(), ch?.stop()]);
    throw err;
  }
  const natsUrl = cluster?.url ?? nats!.url;
  const clickhouseUrl = ch.url;
  // The whole NATS topology, declared once before any service starts, as `npm start` does.
  try {
    const nc = await connectNats(natsUrl, 'proof-system');
    await declareSystemTopology(nc, opts.natsNodes ? Math.min(3, opts.natsNodes) : 1);
    await nc.close();
  } catch (err) {
    await Promise.allSettled([nats?.stop(), cluster?.stop(), ch.stop()]);
    throw err;
  }
  const level = opts.logLevel ?? 'info';
  const base = { NATS_URL: natsUrl, LOG_LEVEL: level, ...(opts.natsNodes ? { STREAM_REPLICAS: String(Math.min(3, opts.natsNodes)) } : {}) };
  const smscPorts = { cmcc: await freePort(), cucc: await freePort(), ctcc: await freePort() };
  const smsc = {
    SMSC_HOST: '127.0.0.1',
    SMSC_PORT_CMCC: String(smscPorts.cmcc),
    SMSC_PORT_CUCC: String(smscPorts.cucc),
    SMSC_PORT_CTCC: String(smscPorts.ctcc),
  };
  const health = {} as Record<ServiceName, number>;
  for (const n of ['smsc-sim', 'alerting', 'alerting-2', 'messaging', 'insight', 'ingest'] as ServiceName[]) health[n] = await freePort();
  const specs: ServiceSpec[] = [
    // The SMSC simulator keeps every message it accepted: it is the ground truth of what was sent.
    {
      name: 'smsc-sim',
      entry: 'messaging/src/smsc-sim/main.ts',
      healthPort: health['smsc-sim'],
      env: { ...base, ...smsc, HEALTH_PORT: String(health['smsc-sim']), SMSC_KEEP: '1000000', ...opts.smscEnv },
    },
    {
      name: 'alerting',
      entry: 'alerting/src/main.ts',
      healthPort: health.alerting,
      env: {
        ...base,
        CLICKHOUSE_URL: clickhouseUrl,
        HEALTH_PORT: String(health.alerting),
        INSTANCE_ID: 'alerting-1',
        ...opts.env?.alerting,
      },
    },
    {
      name: 'alerting-2',
      entry: 'alerting/src/main.ts',
      healthPort: health['alerting-2'],
      env: {
        ...base,
        CLICKHOUSE_URL: clickhouseUrl,
        HEALTH_PORT: String(health['alerting-2']),
        INSTANCE_ID: 'alerting-2',
        ...opts.env?.alerting,
      },
    },
    {
      name: 'messaging',
      entry: 'messaging/src/main.ts',
      healthPort: health.messaging,
      env: { ...base, ...smsc, CLICKHOUSE_URL: clickhouseUrl, HEALTH_PORT: String(health.messaging), ...opts.env?.messaging },
    },
    {
      name: 'insight',
      entry: 'insight/src/main.ts',
      healthPort: health.insight,
      env: {
        ...base,
        CLICKHOUSE_URL: clickhouseUrl,
        HEALTH_PORT: String(health.insight),
        API_PORT: String(await freePort()),
        ...opts.env?.insight,
      },
    },
    {
      name: 'ingest',
      entry: 'ingest/src/main.ts',
      healthPort: health.ingest,
      env: {
        ...base,
        HEALTH_PORT: String(health.ingest),
        INGEST_HTTP_PORT: String(await freePort()),
        SIM_ENABLED: '1',
        SIM_SUBSCRIBERS: String(opts.subscribers ?? 20_000),
        SIM_SPEED: String(opts.simSpeed ?? 1),
        SIM_SEED: String(opts.simSeed ?? 7),
        ...opts.env?.ingest,
      },
    },
  ];
  for (const s of specs) services[s.name as ServiceName] = new ServiceProcess(s, logDir, say);

  const ready = async (name: ServiceName, from: number) => {
    const s = services[name];
    await s.waitHealthy(180_000);
    await s.waitForLog(READY[name], 180_000, from);
  };
  /** Services the liveness probe watches (ready, and not being restarted on purpose). */
  const live = new Set<ServiceName>();
  const startService = async (name: ServiceName) => {
    live.delete(name);
    const from = services[name].logSize();
    services[name].start();
    await ready(name, from);
    services[name].ready = true;
    live.add(name);
  };
  const hangs: UnexpectedExit[] = [];
  const misses = new Map<ServiceName, number>();
  let probing = opts.liveness ?? true;
  const probe = (async () => {
    while (probing) {
      await new Promise((r) => setTimeout(r, 2000));
      await Promise.all(
        [...live].map(async (name) => {
          const svc = services[name];
          try {
            await fetch(`http://127.0.0.1:${svc.spec.healthPort}/healthz`, { signal: AbortSignal.timeout(3000) });
            misses.set(name, 0);
          } catch {
            const n = (misses.get(name) ?? 0) + 1;
            misses.set(name, n);
            if (n < LIVENESS_FAILURES || !live.has(name) || !probing) return;
            misses.set(name, 0);
            hangs.push({ service: name, code: null, signal: 'SIGKILL', at: Date.now(), phase: 'running', logTail: tail(svc.logFile) });
            say(
              `! ${name}: /healthz has not answered ${LIVENESS_FAILURES} times in a row (hung); kill -9 and restart, as a liveness probe would`,
            );
            await svc.kill9();
            await startService(name).catch((err: unknown) => say(`! ${name} did not come back: ${(err as Error).message}`));
          }
        }),
      );
    }
  })();
  const stopAll = async () => {
    probing = false;
    live.clear();
    await probe;
    for (const n of ['ingest', 'insight', 'messaging', 'alerting', 'alerting-2', 'smsc-sim'] as ServiceName[])
      await services[n].stop(15_000).catch(() => undefined);
    await Promise.allSettled([nats?.stop(), cluster?.stop(), ch?.stop()]);
  };

  try {
    // All at once, like `npm start`: each declares its streams idempotently.
    const alerting: ServiceName[] = opts.alertingInstances === 2 ? ['alerting', 'alerting-2'] : ['alerting'];
    await Promise.all((opts.services ?? (['smsc-sim', ...alerting, 'messaging', 'insight'] as ServiceName[])).map(startService));
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    dir,
    logDir,
    natsUrl,
    clickhouseUrl,
    services,
    smsc: new SmscControl(`http://127.0.0.1:${health['smsc-sim']}`),
    natsCluster: cluster,
    startService,
    hangs,
    async stopService(name) {
      live.delete(name);
      await services[name].stop();
    },
    async killService(name) {
      live.delete(name);
      await services[name].kill9();
    },
    async killAndRestart(name, downMs = 500) {
      live.delete(name);
      await services[name].kill9();
      await new Promise((r) => setTimeout(r, downMs));
      await startService(name);
    },
    async restartNats(o = {}) {
      if (cluster) throw new Error('restartNats: this system runs a NATS cluster; restart its nodes with natsCluster.restart(i)');
      if (o.hard) {
        nats!.process.child.kill('SIGKILL');
        await nats!.process.exited;
      } else await nats!.stop();
      await new Promise((r) => setTimeout(r, o.downMs ?? 1000));
      nats = await startNatsServer({ dataDir: natsDir, port: natsPort, log: say });
    },
    async restartClickHouse(o = {}) {
      if (o.hard) {
        ch!.process.child.kill('SIGKILL');
        await ch!.process.exited;
      } else await ch!.stop();
      await new Promise((r) => setTimeout(r, o.downMs ?? 1000));
      ch = await startClickHouseServer({ dataDir: chDir, httpPort: chPort, log: say });
    },
    serverPids: () => ({ nats: (nats ?? cluster!.nodes[0]!).process.pid, clickhouse: ch!.process.pid }),
    unexpectedExits: () => Object.values(services).flatMap((s) => s.unexpected),
    async stop(o = {}) {
      await stopAll();
      if (ownDir && !o.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
