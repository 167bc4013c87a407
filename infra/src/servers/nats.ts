import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinary } from './ensure-binary.ts';
import { freePort } from './free-port.ts';
import { killStale, startProcess, waitReady, type ManagedProcess } from './child-process.ts';
import { cachedNewerNats, natsServerVersion, supportsSyncInterval } from './nats-release.ts';

export interface NatsServerOptions {
  /** Folder for the JetStream file store, the log and the pid file. */
  dataDir: string;
  /** Client port; a free one when omitted. */
  port?: number;
  /** Monitoring port; a free one when omitted. */
  monitorPort?: number;
  /**
   * When JetStream fsyncs what it has acknowledged: `always` (before every ack,
   * `jetstream { sync_interval: always }`), an interval such as `1s`, or `default` (nats-server's
   * own: every 2 minutes; a kill -9 of the server loses nothing, a power loss of the machine may lose
   * what was acknowledged since the last sync). `always` and intervals need nats-server ≥ 2.10 (see
   * nats-release.ts); with 2.9.10 they are refused. `npm run bench:infra` measures the cost: about
   * 15–20× fewer acknowledged publishes per second with `always` on this kind of machine.
   * @default 'default'
   */
  sync?: NatsSync;
  /** The nats-server binary. @default a cached nats-server ≥ 2.10 (see `ensureNewerNats`), else the system's */
  bin?: string;
  /** Join a cluster: this node's name, its route port and every node's route URL. */
  cluster?: { name: string; nodeName: string; port: number; routes: string[] };
  log?: (msg: string) => void;
}

/** `always`, `default`, or an interval like `500ms`, `1s`, `10s`. */
export type NatsSync = 'always' | 'default' | `${number}${'ms' | 's' | 'm'}`;

export interface RunningNats {
  url: string;
  monitorUrl: string;
  /** The server's version, e.g. "2.10.27". */
  version: string;
  /** When JetStream fsyncs (as asked, after checking the server supports it). */
  sync: NatsSync;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** The nats-server to run: the given one, a cached ≥ 2.10, or the system's (installed with apt when missing). */
export function natsServerBinary(opts: { bin?: string; log?: (msg: string) => void } = {}): string {
  return opts.bin ?? cachedNewerNats() ?? ensureBinary('nats-server', 'nats-server', opts.log);
}

/** Starts `nats-server -js` with its store under `dataDir` and waits until JetStream is up. */
export async function startNatsServer(opts: NatsServerOptions): Promise<RunningNats> {
  const bin = natsServerBinary(opts);
  const version = natsServerVersion(bin);
  const sync = opts.sync ?? 'default';
  if (sync !== 'default' && !supportsSyncInterval(version)) {
    throw new Error(
      `nats-server ${version?.join('.') ?? '(unknown version)'} at ${bin} has no sync_interval (asked for sync ${sync}); it needs 2.10 or newer (see infra/cluster/README.md)`,
    );
  }
  if (sync !== 'default' && !/^(always|\d+(ms|s|m))$/.test(sync))
    throw new Error(`sync must be always, default or an interval like 1s, not ${sync}`);
  mkdirSync(opts.dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const monitor = opts.monitorPort ?? (await freePort());
  const pidFile = join(opts.dataDir, 'nats.pid');
  await killStale(pidFile, 'nats-server');
  const logFile = join(opts.dataDir, 'nats.log');
  // Settings without a command-line flag go in a config file; the flags below add to it.
  const conf: string[] = [];
  if (sync !== 'default') conf.push(`jetstream { sync_interval: ${sync} }`);
  if (opts.cluster) {
    const c = opts.cluster;
    conf.push(`cluster { name: ${c.name}, listen: "127.0.0.1:${c.port}", routes: [${c.routes.map((r) => `"${r}"`).join(', ')}] }`);
  }
  const confFile = join(opts.dataDir, 'nats.conf');
  writeFileSync(confFile, `${conf.join('\n')}\n`);
  const name = opts.cluster?.nodeName ?? `geo-alert-${port}`;
  const proc = startProcess({
    name: 'nats-server',
    command: bin,
    args: [
      '-c',
      confFile,
      '-js',
      '-sd',
      join(opts.dataDir, 'jetstream'),
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      String(monitor),
      '-n',
      name,
    ],
    logFile,
    pidFile,
  });
  const monitorUrl = `http://127.0.0.1:${monitor}`;
  // A cluster node's JetStream answers only once the nodes have met; it is waited for by the cluster.
  const ready = opts.cluster ? `${monitorUrl}/varz` : `${monitorUrl}/healthz?js-enabled-only=true`;
  await waitReady(proc, async () => (await fetch(ready)).ok, 15_000, logFile);
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl,
    version: version?.join('.') ?? 'unknown',
    sync,
    process: proc,
    stop: () => proc.stop(),
  };
}
