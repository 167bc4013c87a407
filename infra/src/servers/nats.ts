import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinary } from './ensure-binary.ts';
import { freePort } from './free-port.ts';
import { killStale, startProcess, waitReady, type ManagedProcess } from './child-process.ts';

export interface NatsServerOptions {
  /** Folder for the JetStream file store, the log and the pid file. */
  dataDir: string;
  /** Client port; a free one when omitted. */
  port?: number;
  log?: (msg: string) => void;
}

export interface RunningNats {
  url: string;
  monitorUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts `nats-server -js` with its store under `dataDir` and waits until JetStream is up. */
export async function startNatsServer(opts: NatsServerOptions): Promise<RunningNats> {
  const bin = ensureBinary('nats-server', 'nats-server', opts.log);
  mkdirSync(opts.dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const monitor = await freePort();
  const pidFile = join(opts.dataDir, 'nats.pid');
  await killStale(pidFile, 'nats-server');
  const logFile = join(opts.dataDir, 'nats.log');
  const proc = startProcess({
    name: 'nats-server',
    command: bin,
    args: ['-js', '-sd', join(opts.dataDir, 'jetstream'), '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-n', `geo-alert-${port}`],
    logFile,
    pidFile,
  });
  const monitorUrl = `http://127.0.0.1:${monitor}`;
  await waitReady(proc, async () => (await fetch(`${monitorUrl}/healthz?js-enabled-only=true`)).ok, 15_000, logFile);
  return { url: `nats://127.0.0.1:${port}`, monitorUrl, process: proc, stop: () => proc.stop() };
}
