import { connectClickHouse, createLogger, migrateClickHouse } from '@geo/infra';
import { sendLogMigrations } from '@geo/messaging';
import { describe, expect, inject, it } from 'vitest';
import { chargeByLanguage, loggedUnits } from './sent-units.ts';

/** The send log's segments per task, read from a real ClickHouse under messaging's own send-log schema. */
describe('a bilingual task’s sends in the send log', () => {
  it('sums each job’s latest segments once, leaving forwarded replies and other tasks out', async () => {
    const table = `sms_log_languages_${process.pid}`;
    const ch = connectClickHouse(inject('clickhouseUrl'));
    try {
      await migrateClickHouse(ch, `languages-${process.pid}`, sendLogMigrations(table));
      const t = Math.floor(Date.now() / 1000);
      const row = (job: string, send: string, segments: number, version: number) => ({
        job_id: job,
        source: 'alert',
        enterprise_id: 'e',
        account_id: 'a',
        send_id: send,
        task: 0,
        msisdn: '13800138000',
        carrier: 'cmcc',
        smsc: '',
        segments,
        created_at: t,
        submit_time: t,
        message_id: '',
        message_ids: [],
        status: version === 1 ? 'submitted' : 'delivered',
        code: '',
        status_time: t,
        version,
      });
      await ch.insert({
        table,
        format: 'JSONEachRow',
        values: [
          // Three Chinese SMS (1 unit) and one English (3 units), each logged twice (submitted, delivered).
          ...[1, 2].flatMap((v) => [row('alert:t-1:1', 't-1', 1, v), row('alert:t-1:2', 't-1', 1, v), row('alert:t-1:3', 't-1', 1, v)]),
          ...[1, 2].map((v) => row('alert:t-1:4', 't-1', 3, v)),
          row('fwd-t-1-1', 't-1', 2, 1),
          row('alert:t-2:1', 't-2', 1, 1),
        ],
      });
      const logged = await loggedUnits(ch, createLogger('test', 'silent'), ['t-1'], table);
      expect(logged?.get('t-1')).toEqual({ jobs: 4, units: 6 });
      expect(logged?.has('t-2')).toBe(false);
      // Reserved at 3 a message, four sends cost 6, not 12.
      expect(chargeByLanguage(4, 3, logged?.get('t-1'))).toBe(6);
    } finally {
      await ch.close();
    }
  });
});
