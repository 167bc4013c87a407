import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClickHouseCluster, type RunningClickHouseCluster } from '../servers/clickhouse.ts';
import { connectClickHouse, selectRows, type ClickHouseClient } from './client.ts';
import { clickhouseClusterUrl, ClickHouseClusterConfigError } from './cluster.ts';
import { migrateClickHouse, type ClickHouseMigration } from './migrate.ts';

/** Cluster-mode migrations against two real unreplicated shards (#19). */
describe('ClickHouse migrations in cluster mode', () => {
  const DB = `cluster_migrate_${Date.now().toString(36)}`;
  let dataDir: string;
  let cluster: RunningClickHouseCluster;
  let ch: ClickHouseClient;
  const node = (i: number) => connectClickHouse(`${cluster.nodes[i]!.url}/${DB}`);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'geo-ch-migrate-'));
    cluster = await startClickHouseCluster({ dataDir });
    ch = connectClickHouse(cluster.url.replace('/?', `/${DB}?`));
  }, 120_000);

  afterAll(async () => {
    await ch?.close();
    await cluster?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const migrations: ClickHouseMigration[] = [
    {
      version: 1,
      name: 'kv',
      statements: [
        'CREATE TABLE IF NOT EXISTS kv (k String, v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY k',
        // Not idempotent: run twice on a node, it leaves two rows there.
        "INSERT INTO kv (k, v) VALUES ('seed', 1)",
      ],
      shardBy: { kv: 'cityHash64(k)' },
    },
  ];

  it('does not repeat a migration on a node that finished it when another node failed, and finishes it there on the next run', async () => {
    // Entered through shard 2, the last node of `nodes=`, which holds a plain table under the name the
    // Distributed table needs: shard 1 finishes the migration, shard 2 fails it.
    const viaSecond = connectClickHouse(
      clickhouseClusterUrl(
        `${cluster.nodes[1]!.url}/${DB}`,
        cluster.name,
        cluster.nodes.map((n) => n.url),
      ),
    );
    const n2 = node(1);
    const root = connectClickHouse(cluster.nodes[1]!.url);
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    await root.close();
    await n2.command({ query: 'CREATE TABLE kv (k String) ENGINE = MergeTree ORDER BY k' });
    await expect(migrateClickHouse(viaSecond, 'test', migrations)).rejects.toThrow(ClickHouseClusterConfigError);
    await n2.command({ query: 'DROP TABLE kv' });
    await n2.command({ query: 'DROP TABLE IF EXISTS kv_local' });
    await n2.close();
    await viaSecond.close();

    expect(await migrateClickHouse(ch, 'test', migrations)).toEqual([1]);
    expect(await migrateClickHouse(ch, 'test', migrations)).toEqual([]);
    // One seed row per node: shard 2 ran the migration once, shard 1 once.
    const [r] = await selectRows<{ n: string }>(ch, "SELECT count() AS n FROM kv WHERE k = 'seed'");
    expect(r!.n).toBe('2');
    for (const i of [0, 1]) {
      const c = node(i);
      const tables = await selectRows<{ name: string; engine: string }>(
        c,
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name LIKE 'kv%' ORDER BY name",
      );
      await c.close();
      expect(tables).toEqual([
        { name: 'kv', engine: 'Distributed' },
        { name: 'kv_local', engine: 'ReplacingMergeTree' },
      ]);
    }
  });

  it('refuses a URL whose nodes do not match the servers’ cluster', async () => {
    const one = connectClickHouse(`${cluster.nodes[0]!.url}/${DB}?cluster=${cluster.name}`);
    try {
      await expect(migrateClickHouse(one, 'test2', migrations)).rejects.toThrow(/names 1 nodes but the servers' remote_servers has 2/);
    } finally {
      await one.close();
    }
  });
});
