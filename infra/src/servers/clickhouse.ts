import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBinary } from './ensure-binary.ts';
import { freePort } from './free-port.ts';
import { killStale, startProcess, waitReady, type ManagedProcess } from './child-process.ts';

const TEMPLATE_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../clickhouse');

export interface ClickHouseServerOptions {
  dataDir: string;
  /** HTTP port; a free one when omitted. */
  httpPort?: number;
  /** Native-protocol port (what a cluster's `remote_servers` names); a free one when omitted. */
  tcpPort?: number;
  /** XML put inside `<yandex>` as it is, e.g. `remote_servers` and `macros` for a cluster node. */
  extraConfig?: string;
  log?: (msg: string) => void;
}

export interface RunningClickHouse {
  url: string;
  /** Native-protocol port. */
  tcpPort: number;
  version: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Starts `clickhouse-server` with the project's config (infra/clickhouse/), never the system-wide
 * one: data, logs and temp files under `dataDir`, on free ports.
 */
export async function startClickHouseServer(opts: ClickHouseServerOptions): Promise<RunningClickHouse> {
  const bin = ensureBinary('clickhouse-server', 'clickhouse-server', opts.log);
  const dataDir = resolve(opts.dataDir);
  for (const d of ['', 'tmp', 'user_files', 'format_schemas', 'log']) mkdirSync(join(dataDir, d), { recursive: true });
  const httpPort = opts.httpPort ?? (await freePort());
  const tcpPort = opts.tcpPort ?? (await freePort());
  const interserver = await freePort();
  const config = readFileSync(join(TEMPLATE_DIR, 'config.xml'), 'utf8')
    .replaceAll('{{DATA}}', dataDir)
    .replaceAll('{{HTTP_PORT}}', String(httpPort))
    .replaceAll('{{TCP_PORT}}', String(tcpPort))
    .replaceAll('{{INTERSERVER_PORT}}', String(interserver))
    .replaceAll('{{EXTRA}}', opts.extraConfig ?? '');
  const configFile = join(dataDir, 'config.xml');
  writeFileSync(configFile, config);
  writeFileSync(join(dataDir, 'users.xml'), readFileSync(join(TEMPLATE_DIR, 'users.xml'), 'utf8'));
  const pidFile = join(dataDir, 'clickhouse.pid');
  await killStale(pidFile, 'clickhouse');
  const logFile = join(dataDir, 'log', 'stdout.log');
  const proc = startProcess({
    name: 'clickhouse-server',
    command: bin,
    args: [`--config-file=${configFile}`],
    logFile,
    pidFile,
    cwd: dataDir,
  });
  const url = `http://127.0.0.1:${httpPort}`;
  await waitReady(proc, async () => (await fetch(`${url}/ping`)).ok, 60_000, join(dataDir, 'log', 'server.err.log'));
  const version = (await (await fetch(`${url}/?query=${encodeURIComponent('SELECT version()')}`)).text()).trim();
  return { url, tcpPort, version, process: proc, stop: () => proc.stop(20_000) };
}

export * from './clickhouse-cluster.ts';
