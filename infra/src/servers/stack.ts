import { join } from 'node:path';
import { startClickHouseServer, type RunningClickHouse } from './clickhouse.ts';
import { startNatsServer, type NatsSync, type RunningNats } from './nats.ts';

export interface StackOptions {
  /** Root folder for server data (`.data/` for `npm start`, a temp folder for tests). */
  dataDir: string;
  /** Existing servers: when set, nothing is started for them. */
  natsUrl?: string;
  clickhouseUrl?: string;
  natsPort?: number;
  /** When the started nats-server fsyncs (see {@link NatsSync}). @default 'default' */
  natsSync?: NatsSync;
  clickhousePort?: number;
  log?: (msg: string) => void;
}

export interface RunningStack {
  natsUrl: string;
  /** nats-server's monitoring endpoint, when this stack started it. */
  natsMonitorUrl?: string;
  clickhouseUrl: string;
  clickhouseVersion?: string;
  /** Which servers this stack started (and will stop). */
  started: string[];
  stop(): Promise<void>;
}

/** Starts nats-server and clickhouse-server in parallel, unless URLs of existing ones are given. */
export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const log = opts.log ?? console.log;
  const [nats, ch] = await Promise.all([
    opts.natsUrl ? undefined : startNatsServer({ dataDir: join(opts.dataDir, 'nats'), port: opts.natsPort, sync: opts.natsSync, log }),
    opts.clickhouseUrl
      ? undefined
      : startClickHouseServer({ dataDir: join(opts.dataDir, 'clickhouse'), httpPort: opts.clickhousePort, log }),
  ] as const);
  const running: (RunningNats | RunningClickHouse)[] = [nats, ch].filter((x) => x !== undefined);
  return {
    natsUrl: opts.natsUrl ?? nats!.url,
    clickhouseUrl: opts.clickhouseUrl ?? ch!.url,
    natsMonitorUrl: nats?.monitorUrl,
    clickhouseVersion: ch?.version,
    started: running.map((r) => r.process.name),
    async stop() {
      await Promise.all(running.map((r) => r.stop()));
    },
  };
}
