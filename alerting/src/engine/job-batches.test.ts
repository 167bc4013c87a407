import { describe, expect, it } from 'vitest';
import type { SmsJob } from '@geo/messaging';
import { claimChunk } from './claims.ts';
import { chunkBatches } from './job-batches.ts';

const job = (msisdn: string, carrier: SmsJob['carrier']) => ({ msisdn, carrier, jobId: `alert:t-1:${msisdn}` }) as SmsJob;

describe('job batches of a claim chunk', () => {
  const people = Array.from({ length: 25 }, (_, i) => ({
    msisdn: `138000000${String(i).padStart(2, '0')}`,
    carrier: (['cmcc', 'cucc', 'ctcc'] as const)[i % 3],
  }));
  const chunk = claimChunk('a1:1700000000000:7', 'a1', 1_700_000_000_000, people, 4);

  it('splits the people per carrier in chunk order, at most the chunk’s batch size per message, everyone once', () => {
    const batches = chunkBatches('t-1', chunk, job);
    for (const b of batches) {
      expect(b.jobs.length).toBeLessThanOrEqual(4);
      expect(b.jobs.every((j) => j.carrier === b.carrier)).toBe(true);
    }
    expect(batches.flatMap((b) => b.jobs.map((j) => j.msisdn))).toEqual([
      ...['cmcc', 'cucc', 'ctcc'].flatMap((c) => people.filter((p) => p.carrier === c).map((p) => p.msisdn)),
    ]);
    expect(batches.map((b) => b.msgId).slice(0, 3)).toEqual([
      'alert:t-1:a1:1700000000000:7:cmcc:0',
      'alert:t-1:a1:1700000000000:7:cmcc:1',
      'alert:t-1:a1:1700000000000:7:cmcc:2',
    ]);
    expect(new Set(batches.map((b) => b.msgId)).size).toBe(batches.length);
  });

  it('builds the same messages and Msg-Ids from the chunk read back from the log (a replay is de-duplicated)', () => {
    const again = JSON.parse(JSON.stringify(chunk));
    const ids = (c: typeof chunk) => chunkBatches('t-1', c, job).map((b) => `${b.msgId}=${b.jobs.map((j) => j.msisdn).join(',')}`);
    expect(ids(again)).toEqual(ids(chunk));
  });

  it('publishes a chunk written before batching one job per message with Msg-Id = job id, as its writer did', () => {
    const { batch: _, ...old } = chunk;
    const batches = chunkBatches('t-1', old, job);
    expect(batches).toHaveLength(people.length);
    expect(batches.every((b) => b.jobs.length === 1 && b.msgId === b.jobs[0]!.jobId)).toBe(true);
  });
});
