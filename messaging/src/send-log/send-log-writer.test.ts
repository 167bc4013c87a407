import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@geo/infra';
import { rowVersion, type SendLogRow } from './schema.ts';
import { SendLogWriter } from './send-log-writer.ts';

/** A ClickHouse client that only records its inserts (unit test: no server). */
function fakeClickHouse() {
  const inserts: SendLogRow[][] = [];
  const ch = {
    insert: async ({ values }: { values: SendLogRow[] }) => {
      inserts.push(values);
    },
  } as unknown as ClickHouseClient;
  return { ch, inserts };
}

const row = (jobId: string, status: string, atMs: number, sendId = 's1'): SendLogRow => ({
  job_id: jobId,
  source: 'alert',
  enterprise_id: 'e1',
  account_id: 'a1',
  send_id: sendId,
  task: 0,
  msisdn: '13800000001',
  carrier: 'cmcc',
  smsc: 'cmcc',
  segments: 1,
  created_at: 1,
  submit_time: 1,
  message_id: 'm1',
  message_ids: ['m1'],
  status,
  code: '',
  status_time: Math.floor(atMs / 1000),
  version: rowVersion(status, atMs),
});

describe('SendLogWriter', () => {
  it("writes only a job's newest version when several wait for the same insert, and tells every writer once it is stored", async () => {
    const { ch, inserts } = fakeClickHouse();
    const w = new SendLogWriter(ch, 'sms_log', { maxDelayMs: 10_000 });
    const done: string[] = [];
    const submitted = w.write([row('j1', 'submitted', 1000)]).then(() => done.push('submitted'));
    const other = w.write([row('j2', 'submitted', 1000)]).then(() => done.push('other'));
    const delivered = w.write([row('j1', 'delivered', 2000)]).then(() => done.push('delivered'));
    expect(w.queued).toBe(2);
    await w.flush();
    await Promise.all([submitted, other, delivered]);
    expect(inserts).toHaveLength(1);
    expect(inserts[0]!.map((r) => `${r.job_id}:${r.status}`)).toEqual(['j1:delivered', 'j2:submitted']);
    expect(done.sort()).toEqual(['delivered', 'other', 'submitted']);
    expect(w.queued).toBe(0);
    expect(w.rowsWritten).toBe(2);
  });

  it('keeps the higher version when an older one comes later, and keeps apart jobs of other sends', async () => {
    const { ch, inserts } = fakeClickHouse();
    const w = new SendLogWriter(ch, 'sms_log', { maxDelayMs: 10_000 });
    void w.write([row('j1', 'failed', 3000)]);
    void w.write([row('j1', 'delivered', 2000)]);
    void w.write([row('j1', 'submitted', 1000, 's2')]);
    await w.flush();
    expect(inserts[0]!.map((r) => `${r.send_id}/${r.job_id}:${r.status}`)).toEqual(['s1/j1:failed', 's2/j1:submitted']);
  });

  it('does not fold a version into an insert already under way: it goes in the next one', async () => {
    const { ch, inserts } = fakeClickHouse();
    const w = new SendLogWriter(ch, 'sms_log', { maxDelayMs: 10_000 });
    void w.write([row('j1', 'submitted', 1000)]);
    const first = w.flush();
    void w.write([row('j1', 'delivered', 2000)]);
    await first;
    await w.flush();
    expect(inserts.map((i) => i.map((r) => r.status))).toEqual([['submitted'], ['delivered']]);
  });
});
