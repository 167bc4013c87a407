import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, selectRows, type ClickHouseClient } from '@geo/infra';
import { startClickHouseCluster, type RunningClickHouseCluster } from '@geo/infra/testing';
import { migrateSendLog, rowVersion, type SendLogRow } from './schema.ts';
import { SendLogWriter } from './send-log-writer.ts';

/**
 * Issue 19: the send log on two ClickHouse shards (`sms_log` Distributed over `sms_log_local`,
 * sharded by job). Every row written arrives, also when a shard is down while the writer inserts:
 * inserts are synchronous, so the writer sees the failure and retries until both shards have them.
 */

const DB = `send_log_cluster_${Date.now().toString(36)}`;
const T = Math.floor(Date.now() / 1000);

const row = (i: number, status: 'submitted' | 'delivered'): SendLogRow => ({
  job_id: `job-${i}`,
  source: 'industry',
  enterprise_id: `ent-${i % 7}`,
  account_id: 'acc-1',
  send_id: `send-${i % 13}`,
  task: 0,
  msisdn: `1390000${String(i).padStart(4, '0')}`,
  carrier: 'cmcc',
  smsc: 'cmcc-1',
  segments: 1,
  created_at: T,
  submit_time: T,
  message_id: `m${i}`,
  message_ids: [`m${i}`],
  status,
  code: '',
  status_time: T + (status === 'delivered' ? 5 : 0),
  version: rowVersion(status, (T + (status === 'delivered' ? 5 : 0)) * 1000),
});
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('the send log on two ClickHouse shards', () => {
  let dataDir: string;
  let cluster: RunningClickHouseCluster;
  let ch: ClickHouseClient;

  const onNode = async <T>(i: number, query: string): Promise<T[]> => {
    const node = connectClickHouse(`${cluster.nodes[i]!.url}/${DB}`);
    try {
      return await selectRows<T>(node, query);
    } finally {
      await node.close();
    }
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'geo-ch-sendlog-'));
    cluster = await startClickHouseCluster({ dataDir });
    ch = connectClickHouse(cluster.url.replace('/?', `/${DB}?`));
  }, 120_000);

  afterAll(async () => {
    await ch?.close();
    await cluster?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates every shard once (making the database there): sms_log_local on each, sms_log Distributed with the added column', async () => {
    expect(await migrateSendLog(ch)).toEqual([1, 2]);
    expect(await migrateSendLog(ch)).toEqual([]);
    for (const i of [0, 1]) {
      const tables = await onNode<{ name: string; engine: string }>(
        i,
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name LIKE 'sms_log%' ORDER BY name",
      );
      expect(tables).toEqual([
        { name: 'sms_log', engine: 'Distributed' },
        { name: 'sms_log_local', engine: 'ReplacingMergeTree' },
      ]);
      const smsc = await onNode(
        i,
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'sms_log' AND name = 'smsc'",
      );
      expect(smsc).toHaveLength(1);
    }
  });

  it('stores every row, also those written while a shard was down, once each', async () => {
    const writer = new SendLogWriter(ch, 'sms_log', { maxRows: 2000, maxBackoffMs: 500 });
    await writer.write(range(0, 4000).map((i) => row(i, 'submitted')));

    await cluster.kill(1);
    const pending = writer.write([...range(4000, 8000).map((i) => row(i, 'submitted')), ...range(0, 4000).map((i) => row(i, 'delivered'))]);
    const deadline = Date.now() + 30_000;
    while (writer.lastError === undefined) {
      if (Date.now() > deadline) throw new Error('inserts kept succeeding with a shard down');
      await new Promise((r) => setTimeout(r, 100));
    }
    await cluster.start(1);
    await pending;
    await writer.close();

    const [all] = await selectRows<{ n: string; jobs: string; delivered: string }>(
      ch,
      "SELECT count() AS n, uniqExact(job_id) AS jobs, countIf(status = 'delivered') AS delivered FROM sms_log FINAL",
    );
    expect(all).toEqual({ n: '8000', jobs: '8000', delivered: '4000' });
    // Read as the portal does (argMax per job), through the other node.
    const other = connectClickHouse(`${cluster.nodes[1]!.url}/${DB}`);
    const [viaOther] = await selectRows<{ delivered: string }>(
      other,
      "SELECT countIf(s = 'delivered') AS delivered FROM (SELECT job_id, argMax(status, version) AS s FROM sms_log GROUP BY job_id)",
    );
    await other.close();
    expect(viaOther!.delivered).toBe('4000');
    const perShard = await Promise.all(
      [0, 1].map(async (i) => Number((await onNode<{ n: string }>(i, 'SELECT count() AS n FROM sms_log_local FINAL'))[0]!.n)),
    );
    expect(perShard.every((n) => n > 2000)).toBe(true);
    expect(perShard[0]! + perShard[1]!).toBe(8000);
  });
});
