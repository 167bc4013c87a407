import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, createLogger, ensureConsumer, ensureStream, jetstreamManager, ms, type NatsConnection } from '@geo/infra';
import { startNatsCluster, type RunningNatsCluster } from '@geo/infra/testing';
import { rewindToAckFloor } from './intake.ts';

/**
 * #19, failover drill 8: every lease expired while a NATS node was down, and insight's new holder
 * rewound its durable (deleted and re-added `insight-sink` with another deliver policy). n2,
 * restarting, logged "Consumer create failed during update … deliver policy can not be updated"
 * and stayed unhealthy ("monitor goroutine not running"). A real 3-node cluster: a node down while
 * the sink rewinds, and a node killed right after a rewind, must both come back healthy, and the
 * rewound durable must deliver again from the ack floor.
 */
const STREAM = 'RWD';
const BASE = 'insight-rwd';
const log = createLogger('rewind-cluster', 'silent');
let dir: string;
let cluster: RunningNatsCluster;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'insight-rewind-cluster-'));
  cluster = await startNatsCluster({ dataDir: dir, nodes: 3 });
  nc = await connectNats(cluster.url, 'insight-rewind-cluster');
  jsm = await jetstreamManager(nc);
  // A peer just formed may still be "offline" for placement for a moment.
  for (let attempt = 0; ; attempt++)
    try {
      await ensureStream(jsm, { name: STREAM, subjects: ['rwd.>'], num_replicas: 3 });
      break;
    } catch (err) {
      if (attempt > 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
}, 300_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Publishes until acknowledged (a leader may be moving). */
async function publish(n: number, from: number): Promise<void> {
  const js = jetstream(nc);
  for (let i = from; i < from + n; i++)
    for (let attempt = 0; ; attempt++) {
      try {
        await js.publish(`rwd.cmcc.${i % 4}`, String(i), { msgID: `rwd-${i}`, timeout: 5_000 });
        break;
      } catch (err) {
        if (attempt > 60) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
}

/** The sink's durable: the one consumer on the stream (a rewind leaves no other behind). */
async function durable(): Promise<string> {
  const names: string[] = [];
  for await (const c of jsm.consumers.list(STREAM)) names.push(c.name);
  expect(names).toHaveLength(1);
  return names[0]!;
}

/**
 * Takes `n` deliveries of the sink's durable and acks none of them (a holder killed mid-flush), or
 * all of them (`ack`: a checkpoint written).
 * A consumer just created or whose leader moved answers "no responders" for a moment: fetched again.
 */
async function take(n: number, ack = false): Promise<number[]> {
  const name = await durable();
  const seqs: number[] = [];
  for (let attempt = 0; seqs.length < n; attempt++) {
    try {
      const c = await jetstream(nc).consumers.get(STREAM, name);
      const batch = await c.fetch({ max_messages: n - seqs.length, expires: 3_000 });
      for await (const m of batch) {
        seqs.push(m.info.streamSequence);
        if (ack) await m.ackAck();
      }
    } catch (err) {
      if (attempt > 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return seqs;
}

/**
 * The sink's rewind as a new holder runs it; a JetStream API call that times out while the
 * consumer's leader was on the killed node fails the role change, which the service retries.
 */
async function rewind(): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rewindToAckFloor(jsm, STREAM, BASE, log, true);
      return;
    } catch (err) {
      if (attempt > 30) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

describe('insight: rewinding the sink durable on a 3-node NATS cluster (#19)', () => {
  it('a node down during the rewind, and a node killed right after one, both come back healthy', async () => {
    await ensureConsumer(jsm, STREAM, {
      durable_name: BASE,
      filter_subject: 'rwd.>',
      ack_wait: ms(60_000),
      max_deliver: -1,
      max_ack_pending: 50_000,
    });
    await publish(40, 0);
    expect(await take(10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    // A node is down while the new holder rewinds (the drill's case), then starts again.
    await cluster.kill(1, { hard: true });
    await rewind();
    // Delivered again at once, in stream order, from the ack floor.
    expect(await take(3, true)).toEqual([1, 2, 3]);
    await cluster.start(1, { healthyTimeoutMs: 45_000 });

    // A rewind, then a node killed with SIGKILL a moment later and started 5 s after (the drill: the
    // meta leader, n2, killed about a second after insight's rewind): each node in turn, the meta
    // leader first. Each restarted node replays the delete and the re-add from its own log.
    const metaLeader = async () => {
      const jsz = (await (await fetch(`${cluster.nodes[0]!.monitorUrl}/jsz`)).json()) as { meta_cluster?: { leader?: string } };
      return cluster.names.indexOf(jsz.meta_cluster?.leader ?? '');
    };
    const first = await metaLeader();
    let floor = 3;
    for (const i of [first, ...[0, 1, 2].filter((x) => x !== first)]) {
      expect(await take(5)).toEqual([1, 2, 3, 4, 5].map((x) => x + floor));
      await rewind();
      await new Promise((r) => setTimeout(r, 1000));
      await cluster.kill(i, { hard: true });
      await new Promise((r) => setTimeout(r, 5000));
      await cluster.start(i, { healthyTimeoutMs: 45_000 });
      // Acks move the floor, so that each rewind starts elsewhere (another start sequence).
      expect(await take(3, true)).toEqual([1, 2, 3].map((x) => x + floor));
      floor += 3;
    }
  }, 400_000);
});
