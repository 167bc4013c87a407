import { migrateClickHouse, type ClickHouseClient } from '@geo/infra';

/**
 * Seeds a few send-log rows in messaging's sms_log shape into `table` (a table of the test's own),
 * so that the home page's trends have something to draw: two delivered and one failed, one a day.
 */
export async function seedSendLog(ch: ClickHouseClient, table: string): Promise<void> {
  await migrateClickHouse(ch, `${table}-migrations`, [
    {
      version: 1,
      name: 'send log',
      statements: [
        `CREATE TABLE IF NOT EXISTS ${table} (job_id String, source String, enterprise_id String, account_id String, send_id String, task UInt16,
          msisdn String, carrier String, segments UInt16, created_at DateTime, submit_time DateTime, message_id String, message_ids Array(String),
          status String, code String, status_time DateTime, version UInt64) ENGINE = ReplacingMergeTree(version)
          PARTITION BY toYYYYMM(created_at) ORDER BY (enterprise_id, send_id, job_id)`,
      ],
    },
  ]);
  const now = Math.floor(Date.now() / 1000);
  const values = ['delivered', 'delivered', 'failed'].map((status, i) => ({
    job_id: `e2e-${i}`,
    source: 'industry',
    enterprise_id: 'demo-enterprise',
    account_id: 'demo-admin',
    send_id: 'e2e',
    task: 0,
    msisdn: '13800138000',
    carrier: 'cmcc',
    segments: 1,
    created_at: now - i * 86400,
    submit_time: now,
    message_id: '',
    message_ids: [],
    status,
    code: '',
    status_time: now,
    version: 2,
  }));
  await ch.insert({ table, format: 'JSONEachRow', values });
}
