import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsConnection } from '../nats/connect.ts';
import { declareLocationStream } from '@geo/ingest';
import { declareMessagingStreams } from '@geo/messaging';
import { ensureKv, ensureStream, jetstreamManager, ms } from '../nats/streams.ts';
import { awaitTopology, topologyNames } from '../nats/topology.ts';
import { declareSystemTopology, systemTopology } from '../up/topology.ts';
import { startNatsCluster, type RunningNatsCluster } from './nats-cluster.ts';
import { natsServerBinary } from './nats.ts';
import { until } from '../testing/until.ts';

/**
 * Three real nats-server processes on loopback as one JetStream cluster (issue 19): an R3 stream
 * keeps every acknowledged message when the node leading it is killed with SIGKILL mid-publish,
 * and a declaration asking for fewer replicas never scales a stream down.
 */
let dir: string;
let cluster: RunningNatsCluster;
let nc: NatsConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nats-cluster-'));
  cluster = await startNatsCluster({ dataDir: dir, nodes: 3 });
  nc = await connectNats(cluster.url, 'cluster-int');
  // startNatsCluster itself waits up to 120 s for the meta group on a loaded machine.
}, 180_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Publishes with a Msg-Id until acknowledged, across a leader change (the id makes a retry safe). */
async function publishAcked(js: ReturnType<typeof jetstream>, subject: string, i: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await js.publish(subject, new TextEncoder().encode(String(i)), { msgID: `m-${i}`, timeout: 2_000 });
      return;
    } catch (err) {
      if (attempt > 60) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('a three-node NATS JetStream cluster', () => {
  it('keeps every acknowledged message of an R3 stream, exactly once, when its leader is killed mid-publish', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'DRILL', subjects: ['drill.>'], num_replicas: 3, duplicate_window: ms(120_000) });
    const js = jetstream(nc);
    const info = await jsm.streams.info('DRILL');
    expect(info.config.num_replicas).toBe(3);
    const leader = info.cluster?.leader;
    expect(cluster.names).toContain(leader);
    const N = 600;
    let acked = 0;
    const publishing = (async () => {
      for (let i = 0; i < N; i++) {
        await publishAcked(js, 'drill.x', i);
        acked++;
      }
    })();
    await until('a third of the messages acked', () => acked >= N / 3, 60_000, 20);
    await cluster.kill(cluster.names.indexOf(leader!), { hard: true });
    await publishing;
    const after = await jsm.streams.info('DRILL');
    expect(after.cluster?.leader).not.toBe(leader);
    expect(after.state.messages).toBe(N);
    // The killed node comes back and catches up; the stream still holds each message once.
    await cluster.start(cluster.names.indexOf(leader!));
    const seen = new Set<string>();
    for (let seq = 1; seq <= N; seq++) seen.add(new TextDecoder().decode((await jsm.streams.getMessage('DRILL', { seq }))!.data));
    expect(seen.size).toBe(N);
  });

  it('does not scale a stream down when a service declares it with fewer replicas', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'SHARED', subjects: ['shared.>'], num_replicas: 3 });
    await ensureStream(jsm, { name: 'SHARED', subjects: ['shared.>'], num_replicas: 1 });
    expect((await jsm.streams.info('SHARED')).config.num_replicas).toBe(3);
    const kv = await ensureKv(nc, 'drill_kv', { replicas: 3 });
    await kv.put('a', '1');
    await ensureKv(nc, 'drill_kv', { replicas: 1 });
    expect((await jsm.streams.info('KV_drill_kv')).config.num_replicas).toBe(3);
  });

  it('declares the whole system topology in one place, R3 for the streams and buckets of every owner, and services declaring or opening theirs later leave it R3', async () => {
    await declareSystemTopology(nc, 3);
    const jsm = await jetstreamManager(nc);
    const names = topologyNames(systemTopology());
    expect(names).toEqual(
      expect.arrayContaining(['LOCATION', 'SMS_JOBS', 'SMS_EVENTS', 'ALERT_CLAIMS', 'DEAD_LETTER', 'KV_alert_tasks', 'KV_insight_leases']),
    );
    // What services do at their start: messaging's and the portal's own declarations (R1 by default),
    // the portal's and insight's bucket opens without a replica count, and awaiting their parts.
    await declareMessagingStreams(nc, 1);
    await declareLocationStream(nc);
    await ensureKv(nc, 'alert_tasks', { history: 5 });
    await ensureKv(nc, 'insight_leases');
    await awaitTopology(nc, systemTopology(), { timeoutMs: 10_000 });
    for (const name of names) expect([name, (await jsm.streams.info(name)).config.num_replicas]).toEqual([name, 3]);
  });

  it('awaiting a part nobody declared fails, naming what is missing', async () => {
    const part = { owner: 'nobody', streams: [{ name: 'NEVER_DECLARED', subjects: ['never.>'] }], buckets: [{ bucket: 'never_kv' }] };
    await expect(awaitTopology(nc, [part], { timeoutMs: 600, pollMs: 100 })).rejects.toThrow(/NEVER_DECLARED, KV_never_kv missing/);
  });
});

describe('waiting for a node to be healthy', () => {
  it('starts a fresh cluster once more on new ports when the first start does not form in time', async () => {
    const own = mkdtempSync(join(tmpdir(), 'nats-cluster-form-'));
    const said: string[] = [];
    // A real nats-server whose n0, on its first start only, is told another cluster's name: n1 and
    // n2 refuse its routes, so the first start cannot form; the second (new ports, new store) can.
    const bin = join(own, 'nats-first-n0-elsewhere.sh');
    writeFileSync(
      bin,
      [
        '#!/bin/sh',
        `case "$2" in */n0/nats.conf) [ -e "${own}/broken-once" ] || { touch "${own}/broken-once"; sed -i 's/name: geo,/name: elsewhere,/' "$2"; } ;; esac`,
        `exec "${natsServerBinary()}" "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(bin, 0o755);
    const c = await startNatsCluster({ dataDir: own, nodes: 3, bin, formTimeoutMs: 8_000, log: (m) => said.push(m) });
    try {
      expect(said.filter((m) => m.startsWith('NATS cluster did not form'))).toEqual([
        expect.stringMatching(/NATS node n[0-2] did not report/),
      ]);
      expect(existsSync(join(own, 'n0.first'))).toBe(true);
      // Formed: an R3 stream is placed on all three nodes.
      const nc2 = await connectNats(c.url, 'cluster-form-int');
      try {
        const m = await jetstreamManager(nc2);
        await m.streams.add({ name: 'FORMED', subjects: ['formed.>'], num_replicas: 3 });
        expect((await m.streams.info('FORMED')).cluster?.replicas).toHaveLength(2);
      } finally {
        await nc2.close();
      }
    } finally {
      await c.stop();
      rmSync(own, { recursive: true, force: true });
    }
  }, 300_000);

  it('says what was missing when a node does not become healthy in time (a timeout alone named nothing)', async () => {
    const own = mkdtempSync(join(tmpdir(), 'nats-cluster-wait-'));
    const c = await startNatsCluster({ dataDir: own, nodes: 3 });
    try {
      for (const i of [0, 1, 2]) await c.kill(i);
      // Alone, n0 can elect no meta leader: the wait must fail, naming what the node said.
      const lone = await c.start(0, { healthyTimeoutMs: 3_000 }).catch((err: Error) => err);
      expect(lone).toBeInstanceOf(Error);
      expect((lone as Error).message).toMatch(/within 3000 ms; last: (healthz: .*meta leader|no meta leader)/);
      // With the end of the node's own log, which goes with the test's temp dir.
      // (its last lines may be any level: a lone node logs its failed route dials as [ERR])
      expect((lone as Error).message).toMatch(/n0's log ends:\n\[\d+\] \d{4}\/\d\d\/\d\d [\d:.]+ \[(INF|WRN|ERR)\]/);
    } finally {
      await c.stop();
      rmSync(own, { recursive: true, force: true });
    }
  }, 180_000);
});
