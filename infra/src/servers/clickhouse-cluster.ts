import { join } from 'node:path';
import { clickhouseClusterUrl } from '../clickhouse/cluster.ts';
import { freePort } from './free-port.ts';
import { startClickHouseServer, type RunningClickHouse } from './clickhouse.ts';

export interface ClickHouseClusterOptions {
  /** Each node keeps its data, logs and config in `<dataDir>/s<i>`. */
  dataDir: string;
  /** @default 2 */
  shards?: number;
  /** The cluster's name in `remote_servers`. @default 'geo' */
  name?: string;
  log?: (msg: string) => void;
}

export interface RunningClickHouseCluster {
  /**
   * The first node's URL in cluster mode (`?cluster=<name>&nodes=<every node's host:port>`), as
   * `CLICKHOUSE_URL` takes it: services read and write the Distributed tables through that node, and
   * migrations and upkeep reach every node's local tables.
   */
  url: string;
  name: string;
  /** The running nodes, shard 1 first (replaced when a node is started again). */
  nodes: RunningClickHouse[];
  /** Stops node `i` (shard i + 1) and leaves it down. */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on its ports and data. */
  start(i: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Unreplicated shards of real clickhouse-server processes on loopback (2 by default), each with its
 * own data directory, ports and a `remote_servers` entry naming them all, so that a `Distributed`
 * table on any node reaches every shard. No ZooKeeper: one replica per shard, and distributed DDL
 * (`ON CLUSTER`) is not available, so the migrations run on each node themselves.
 */
export async function startClickHouseCluster(opts: ClickHouseClusterOptions): Promise<RunningClickHouseCluster> {
  const n = opts.shards ?? 2;
  const name = opts.name ?? 'geo';
  const ports = await Promise.all(Array.from({ length: n }, async () => ({ http: await freePort(), tcp: await freePort() })));
  const shards = ports
    .map(
      (p) =>
        `<shard><internal_replication>false</internal_replication><replica><host>127.0.0.1</host><port>${p.tcp}</port></replica></shard>`,
    )
    .join('');
  const extra = (i: number) =>
    `<remote_servers><${name}>${shards}</${name}></remote_servers><macros><cluster>${name}</cluster><shard>${i + 1}</shard><replica>r1</replica></macros>`;
  const startNode = (i: number) =>
    startClickHouseServer({
      dataDir: join(opts.dataDir, `s${i + 1}`),
      httpPort: ports[i]!.http,
      tcpPort: ports[i]!.tcp,
      extraConfig: extra(i),
      log: opts.log,
    });
  const started = await Promise.allSettled(ports.map((_, i) => startNode(i)));
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const down = new Set<number>();
  const stop = async () => void (await Promise.all(nodes.filter((_, i) => !down.has(i)).map((node) => node.stop())));
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    url: clickhouseClusterUrl(
      nodes[0]!.url,
      name,
      nodes.map((node) => node.url),
    ),
    name,
    nodes,
    async kill(i) {
      down.add(i);
      await nodes[i]!.stop();
    },
    async start(i) {
      nodes[i] = await startNode(i);
      down.delete(i);
    },
    stop,
  };
}
