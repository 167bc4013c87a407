import { readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { startNatsServer, type NatsServerOptions, type RunningNats } from './nats.ts';

export interface NatsClusterOptions {
  /** Each node keeps its store, log and config in `<dataDir>/n<i>`. */
  dataDir: string;
  /** @default 3 */
  nodes?: number;
  /** @default 'geo' */
  name?: string;
  sync?: NatsServerOptions['sync'];
  /** The nats-server binary. @default as {@link startNatsServer} chooses */
  bin?: string;
  log?: (msg: string) => void;
  /** How long a restarted node may take to report JetStream healthy with a complete meta group. @default 120000 */
  healthyTimeoutMs?: number;
  /**
   * How long the first start may take to form (every node healthy, the meta group complete) before
   * it is started once more on new ports; the second start has `healthyTimeoutMs`. @default 90000
   */
  formTimeoutMs?: number;
}

export interface RunningNatsCluster {
  /** Every node's client URL, comma-separated, as `NATS_URL` takes them. */
  url: string;
  /** The running node per index (replaced when a node is restarted). */
  nodes: RunningNats[];
  /** Node names, as JetStream reports a stream's leader (`n0`, `n1`, …). */
  names: string[];
  /** Stops node `i` (SIGTERM, or SIGKILL with `hard`) and, after `downMs`, starts it on its ports and store again. */
  restart(i: number, opts?: { hard?: boolean; downMs?: number }): Promise<void>;
  /** Stops node `i` and leaves it down. */
  kill(i: number, opts?: { hard?: boolean }): Promise<void>;
  /** Starts a node that was stopped with `kill`, and waits for it as the cluster's start did (`healthyTimeoutMs`). */
  start(i: number, opts?: { healthyTimeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A NATS JetStream cluster of real nats-server processes on loopback (3 by default, so streams and
 * buckets can be R3), each with its own file store, for the failover drills. Resolves once every
 * node reports JetStream healthy (a meta leader is elected and each node is current).
 */
export async function startNatsCluster(opts: NatsClusterOptions): Promise<RunningNatsCluster> {
  try {
    return await formCluster(opts, opts.formTimeoutMs ?? 90_000);
  } catch (err) {
    if (!(err instanceof ClusterNotFormed)) throw err;
    // A fresh cluster that did not form is started once more, on new ports and a new store, before
    // any service runs on it. Twice CI on a machine at load 25 saw n0 not healthy for the whole wait
    // right after the first start (session 20's ci20a, session 21's ci21a), with nothing of ours
    // connected yet; what was missing is said here and the first attempt's logs are kept beside.
    const say = opts.log ?? ((m: string) => console.warn(m));
    say(`NATS cluster did not form; starting it once more on new ports: ${err.message}`);
    await err.stop();
    for (let i = 0; i < (opts.nodes ?? 3); i++) {
      const dir = join(opts.dataDir, `n${i}`);
      rmSync(`${dir}.first`, { recursive: true, force: true });
      try {
        renameSync(dir, `${dir}.first`);
      } catch {
        // never created
      }
    }
    return formCluster(opts, opts.healthyTimeoutMs ?? 120_000);
  }
}

/** The first start's nodes did not all report healthy in time; `stop` ends those that run. */
class ClusterNotFormed extends Error {
  constructor(
    message: string,
    readonly stop: () => Promise<void>,
  ) {
    super(message);
  }
}

async function formCluster(opts: NatsClusterOptions, formTimeoutMs: number): Promise<RunningNatsCluster> {
  const n = opts.nodes ?? 3;
  const clusterName = opts.name ?? 'geo';
  const ports = await Promise.all(
    Array.from({ length: n }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })),
  );
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`);
  const names = ports.map((_, i) => `n${i}`);
  const nodeOpts = (i: number): NatsServerOptions => ({
    dataDir: join(opts.dataDir, names[i]!),
    port: ports[i]!.client,
    monitorPort: ports[i]!.monitor,
    sync: opts.sync,
    bin: opts.bin,
    cluster: { name: clusterName, nodeName: names[i]!, port: ports[i]!.route, routes },
    log: opts.log,
  });
  const nodes: (RunningNats | undefined)[] = await Promise.all(names.map((_, i) => startNatsServer(nodeOpts(i))));
  const meta = async (i: number) =>
    fetch(`http://127.0.0.1:${ports[i]!.monitor}/jsz`).then(
      async (r) =>
        ((await r.json()) as { meta_cluster?: { leader?: string; replicas?: { name?: string; current?: boolean; offline?: boolean }[] } })
          .meta_cluster,
      () => undefined,
    );
  /** The end of node `i`'s log, for an error: the test's temp dir (and the log) is gone by the time anyone looks. */
  const logTail = (i: number, lines = 20) => {
    try {
      const all = readFileSync(join(nodeOpts(i).dataDir, 'nats.log'), 'utf8')
        .trimEnd()
        .split('\n');
      return `${names[i]}'s log ends:\n${all.slice(-lines).join('\n')}`;
    } catch (err) {
      return `${names[i]}'s log: ${(err as Error).message}`;
    }
  };
  const healthz = (i: number) =>
    fetch(`http://127.0.0.1:${ports[i]!.monitor}/healthz`).then(
      async (r) => ({ ok: r.ok, body: r.ok ? '' : (await r.text()).slice(0, 500) }),
      (err: Error) => ({ ok: false, body: `unreachable (${err.message})` }),
    );
  /**
   * JetStream healthy on node `i`, and the meta group complete: a leader known to node `i`, and on the
   * leader (only the leader lists them) every other node a known, online peer — not necessarily
   * `current`, which a peer catching up on a loaded machine may not be for a while. `/healthz` alone answers 200
   * on nats-server 2.10 before the meta group knows all peers, and an R3 stream declared then fails
   * with "no suitable peers for placement".
   *
   * The full `/healthz` (every stream and consumer replica on the node current), not
   * `?js-server-only=true`: a drill run that failed on this wait (#19) had its restarted n0 report
   * 12 of its groups not current in turn (healthz names the first it finds) for the whole 120 s
   * while n1 and n2 led and served; going on would have made the drill's next fault a second one.
   */
  const healthy = async (i: number, timeoutMs = opts.healthyTimeoutMs ?? 120_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const h = await healthz(i);
      const m = h.ok ? await meta(i) : undefined;
      const leader = m?.leader ? names.indexOf(m.leader) : -1;
      const lm = leader >= 0 ? await meta(leader) : undefined;
      const peers = lm?.replicas ?? [];
      if (lm && leader >= 0 && lm.leader === names[leader] && peers.filter((p) => !p.offline).length === n - 1) return;
      // What is missing, for the error: a timeout alone did not say which stream or peer held it up (#19).
      const why = !h.ok
        ? `healthz: ${h.body}`
        : leader < 0
          ? `no meta leader known to ${names[i]}`
          : `meta leader ${names[leader]} sees peers ${JSON.stringify(peers.map((p) => `${p.name ?? '?'}${p.offline ? ' offline' : ''}`))}`;
      if (Date.now() > until)
        throw new Error(
          `NATS node ${names[i]} did not report JetStream healthy with a complete meta group within ${timeoutMs} ms; last: ${why}\n${logTail(i)}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  try {
    await Promise.all(names.map((_, i) => healthy(i, formTimeoutMs)));
  } catch (err) {
    throw new ClusterNotFormed((err as Error).message, async () => {
      await Promise.all(nodes.map((x) => x?.stop()));
    });
  }
  const kill = async (i: number, o: { hard?: boolean } = {}) => {
    const node = nodes[i];
    if (!node) return;
    if (o.hard) node.process.child.kill('SIGKILL');
    await node.stop();
    nodes[i] = undefined;
  };
  const start = async (i: number, o: { healthyTimeoutMs?: number } = {}) => {
    nodes[i] = await startNatsServer(nodeOpts(i));
    await healthy(i, o.healthyTimeoutMs);
  };
  return {
    url: ports.map((p) => `nats://127.0.0.1:${p.client}`).join(','),
    get nodes() {
      return nodes.filter((x): x is RunningNats => x !== undefined);
    },
    names,
    kill,
    start,
    async restart(i, o = {}) {
      await kill(i, o);
      await new Promise((r) => setTimeout(r, o.downMs ?? 1_000));
      await start(i);
    },
    async stop() {
      await Promise.all(nodes.map((x) => x?.stop()));
    },
  };
}
