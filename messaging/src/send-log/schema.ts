import { migrateClickHouse, type ClickHouseClient, type ClickHouseMigration } from '@geo/infra';

/**
 * The send log: one row per recipient job, rewritten on each status change. ReplacingMergeTree
 * keeps the highest `version` per (enterprise_id, send_id, job_id), so writing the same state twice
 * (a retry, a redelivery) changes nothing; read it with `FINAL` or `argMax(…, version)`.
 * Partitioned by month of `created_at` (stable for a job, so all its versions meet in one part):
 * old months go with `ALTER TABLE … DROP PARTITION`, as 18.16 has no TTL.
 */
export function sendLogMigrations(table = 'sms_log'): ClickHouseMigration[] {
  return [
    {
      version: 1,
      name: `create ${table}`,
      statements: [
        `CREATE TABLE IF NOT EXISTS ${table} (
          job_id String,
          source String,
          enterprise_id String,
          account_id String,
          send_id String,
          task UInt16,
          msisdn String,
          carrier String,
          segments UInt16,
          created_at DateTime,
          submit_time DateTime,
          message_id String,
          message_ids Array(String),
          status String,
          code String,
          status_time DateTime,
          version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYYYYMM(created_at)
        ORDER BY (enterprise_id, send_id, job_id)`,
      ],
      // Cluster mode (infra's cluster.ts): sharded by job, so every version of a job's row meets on
      // one shard (FINAL and argMax per job stay exact) and one large send spreads over all shards.
      shardBy: { [table]: 'cityHash64(job_id)' },
    },
    {
      // A carrier message id means something only with the SMSC that gave it (invariant 8): receipts
      // read back from the log after a restart are matched by (carrier, smsc, message id).
      version: 2,
      name: `${table}: smsc`,
      statements: [`ALTER TABLE ${table} ADD COLUMN smsc String DEFAULT '' AFTER carrier`],
    },
  ];
}

export async function migrateSendLog(ch: ClickHouseClient, table = 'sms_log', owner = 'messaging'): Promise<number[]> {
  return migrateClickHouse(ch, owner, sendLogMigrations(table));
}

/** A send-log row as written (times in unix seconds). */
export interface SendLogRow {
  job_id: string;
  source: string;
  enterprise_id: string;
  account_id: string;
  send_id: string;
  task: number;
  msisdn: string;
  carrier: string;
  /** The connector's SMSC id (`CarrierConnector.smscId`) its message ids came from; '' in rows written before it was kept. */
  smsc: string;
  segments: number;
  created_at: number;
  submit_time: number;
  message_id: string;
  message_ids: string[];
  status: string;
  code: string;
  status_time: number;
  version: number;
}

const RANK: Record<string, number> = { submitted: 1, delivered: 2, expired: 3, rejected: 4, failed: 5, unknown: 6 };

/**
 * Version of a row: a later state wins, a worse final state wins over a better one (one failed
 * part makes the message failed), and within a state the later time wins.
 */
export function rowVersion(status: string, atMs: number): number {
  return (RANK[status] ?? 0) * 1e13 + atMs;
}
