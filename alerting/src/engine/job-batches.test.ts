import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CARRIERS, languageCode, type Carrier } from '@geo/ingest';
import { SmsJobBatch, jobsOfBatch, type SmsJob } from '@geo/messaging';
import { AlertTask, AlertTaskSpec, alertJobId } from '../contract.ts';
import { circleTask } from '../testing/engine-kit.ts';
import { alertJob } from './alert-job.ts';
import { claimChunk, langLetters } from './claims.ts';
import { batchesOf } from './publish-window.ts';
import type { TaskRuntime } from './task-runtime.ts';
import { chunkBatches } from './job-batches.ts';
import { JobWriter, jobTemplate } from './job-wire.ts';

/** What messaging reads from a message: every job whole. */
function decode(data: Uint8Array): SmsJob[] {
  const r = jobsOfBatch(SmsJobBatch.parse(JSON.parse(Buffer.from(data).toString('utf8'))));
  if (!r.ok) throw r.error;
  return r.jobs;
}

const task = AlertTask.parse({
  id: 't-1',
  version: 1,
  state: 'running',
  updatedAt: 1,
  spec: AlertTaskSpec.parse(circleTask([116.4, 39.9], 1000, { alertType: 'typhoon', content: '台风"预警"\\请注意\n安全' })),
});
const NOW = 1_795_636_405_277;
const job = (msisdn: string, carrier: Carrier, day?: string) => alertJob(task, msisdn, carrier, alertJobId(task.id, msisdn, day), NOW);
const template = (carrier: Carrier) => jobTemplate((m) => job(m, carrier));

describe('job batches of a claim chunk', () => {
  const people = Array.from({ length: 25 }, (_, i) => ({
    msisdn: `138000000${String(i).padStart(2, '0')}`,
    carrier: CARRIERS[i % 3],
  }));
  const chunk = claimChunk('a1:1700000000000:7', 'a1', 1_700_000_000_000, people, 4);

  it('splits the people per carrier in chunk order, at most the chunk’s batch size per message, everyone once', () => {
    const batches = chunkBatches('t-1', chunk, template);
    for (const b of batches) {
      expect(b.msisdns.length).toBeLessThanOrEqual(4);
      expect(decode(b.data).every((j) => j.carrier === b.carrier)).toBe(true);
    }
    expect(batches.flatMap((b) => decode(b.data).map((j) => j.msisdn))).toEqual([
      ...CARRIERS.flatMap((c) => people.filter((p) => p.carrier === c).map((p) => p.msisdn)),
    ]);
    expect(batches.flatMap((b) => b.msisdns)).toEqual(batches.flatMap((b) => decode(b.data).map((j) => j.msisdn)));
    expect(batches.map((b) => b.msgId).slice(0, 3)).toEqual([
      'alert:t-1:a1:1700000000000:7:cmcc:0',
      'alert:t-1:a1:1700000000000:7:cmcc:1',
      'alert:t-1:a1:1700000000000:7:cmcc:2',
    ]);
    expect(new Set(batches.map((b) => b.msgId)).size).toBe(batches.length);
  });

  it('carries each person the job alertJob builds for them, as messaging decodes it', () => {
    const jobs = chunkBatches('t-1', chunk, template).flatMap((b) => decode(b.data));
    const byNumber = new Map(jobs.map((j) => [j.msisdn, j]));
    expect(byNumber.size).toBe(people.length);
    for (const p of people) expect(byNumber.get(p.msisdn)).toEqual(JSON.parse(JSON.stringify(job(p.msisdn, p.carrier))));
  });

  it('builds the same messages and Msg-Ids from the chunk read back from the log (a replay is de-duplicated)', () => {
    const again = JSON.parse(JSON.stringify(chunk));
    const ids = (c: typeof chunk) => chunkBatches('t-1', c, template).map((b) => `${b.msgId}=${b.msisdns.join(',')}`);
    expect(ids(again)).toEqual(ids(chunk));
  });

  it('publishes a chunk written before batching one job per message with Msg-Id = job id, as its writer did', () => {
    const { batch: _, ...old } = chunk;
    const batches = chunkBatches('t-1', old, template);
    expect(batches).toHaveLength(people.length);
    for (const b of batches) {
      const [j, ...rest] = decode(b.data);
      expect(rest).toEqual([]);
      expect(b.msgId).toBe(j!.jobId);
    }
  });
});

describe('jobs written straight to the wire', () => {
  // Read as JSON (messaging's schema would refuse numbers that are not mainland ones before comparing).
  const raw = (data: Uint8Array) => {
    const b = JSON.parse(Buffer.from(data).toString('utf8')) as { v: number; common: object; jobs: object[] };
    expect(b.v).toBe(1);
    return b.jobs.map((j) => ({ ...b.common, ...j }));
  };

  it('decode to the very jobs alertJob builds, for any numbers and days (also ones JSON must escape)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.stringMatching(/^1[3-9]\d{9}$/), fc.string({ minLength: 1, maxLength: 14 })), { minLength: 1, maxLength: 30 }),
        fc.constantFrom(...CARRIERS),
        fc.constantFrom(undefined, '20261207'),
        (msisdns, carrier, day) => {
          fc.pre(msisdns.every((m) => !m.includes('\u0001')));
          const w = new JobWriter(jobTemplate((m) => job(m, carrier, day)));
          const at = msisdns.map((_, k) => k).reverse();
          expect(raw(w.encode(msisdns, at))).toEqual(at.map((k) => JSON.parse(JSON.stringify(job(msisdns[k]!, carrier, day)))));
        },
      ),
    );
  });

  it('write numbers kept as doubles as their strings would be written, message after message in one slab', () => {
    const w = new JobWriter(template('cucc'));
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 99_999_999 }).map((k) => 13_000_000_000 + k),
            fc.maxSafeNat(),
          ),
          {
            minLength: 1,
            maxLength: 120,
          },
        ),
        fc.nat(5),
        (list, cut) => {
          const numbers = Float64Array.from(list);
          const at = list.map((_, k) => k).slice(cut);
          const strings = list.map(String);
          const before = w.encode(strings, at);
          const copy = Buffer.from(before);
          const mine = w.encodeNumbers(numbers, at);
          // Earlier messages cut from the slab stay as they were.
          expect(Buffer.from(before).equals(copy)).toBe(true);
          expect(raw(mine)).toEqual(raw(before));
          if (at.length) expect(Buffer.from(mine).toString()).toBe(Buffer.from(before).toString());
        },
      ),
    );
  });

  it('refuse a template whose shared fields depend on the number', () => {
    expect(() => jobTemplate((m) => ({ ...job(m, 'cmcc'), content: `hello ${m}` }))).toThrow(/differ only by number/);
    expect(() => jobTemplate((m) => ({ ...job(m, 'cmcc'), jobId: 'fixed' }))).toThrow(/differ only by number/);
  });
});

describe('job batches of people of several languages (#21)', () => {
  const bilingual = AlertTask.parse({
    ...task,
    spec: AlertTaskSpec.parse(
      circleTask([116.4, 39.9], 1000, {
        content: '台风预警：今夜请勿外出。',
        contents: { en: 'Typhoon warning: stay indoors tonight.' },
        signatures: { en: 'Hangzhou EMA' },
      }),
    ),
  });
  const rt = { task: bilingual } as TaskRuntime;
  const langs = ['en', 'zh', undefined, 'ja', 'en', undefined, 'ko', 'en'];
  const people = langs.map((_, i) => ({ msisdn: `1390000000${i}`, carrier: CARRIERS[i % 2] }));
  const presence = Uint8Array.from(langs, languageCode);
  const idx = people.map((_, k) => k);
  const chunk = { ...claimChunk('b1:1:1', 'b1', NOW, people, 2), langs: langLetters(presence, idx, 0, idx.length) };

  it('records each person’s profile language in the chunk, two letters each, and none when nobody has one', () => {
    expect(chunk.langs).toBe('enzh--jaen--koen');
    expect(langLetters(new Uint8Array(8), idx, 0, 8)).toBeUndefined();
  });

  it('gives each person their language’s text and signature, one template per carrier and language', () => {
    const jobs = batchesOf(rt, chunk, NOW).flatMap((b) => decode(b.data).map((j) => ({ ...j, msgId: b.msgId })));
    const byNumber = new Map(jobs.map((j) => [j.msisdn, j]));
    expect(byNumber.size).toBe(people.length);
    people.forEach((p, k) => {
      const foreign = langs[k] !== undefined && langs[k] !== 'zh';
      expect(byNumber.get(p.msisdn)).toMatchObject(
        foreign
          ? { content: 'Typhoon warning: stay indoors tonight.', signature: 'Hangzhou EMA', carrier: p.carrier }
          : { content: '台风预警：今夜请勿外出。', signature: bilingual.spec.signature, carrier: p.carrier },
      );
    });
    // Chinese keeps the Msg-Ids chunks had before languages; English ones are their own.
    expect(new Set(jobs.map((j) => j.msgId))).toEqual(
      new Set([
        'alert:t-1:b1:1:1:cmcc:0',
        'alert:t-1:b1:1:1:cmcc.en:0',
        'alert:t-1:b1:1:1:cmcc.en:1',
        'alert:t-1:b1:1:1:cucc:0',
        'alert:t-1:b1:1:1:cucc.en:0',
      ]),
    );
  });

  it('builds the same messages again from the stored chunk alone (a successor republishing it)', () => {
    const stored = JSON.parse(JSON.stringify(chunk)) as typeof chunk;
    const a = batchesOf(rt, chunk, NOW).map((b) => [b.msgId, Buffer.from(b.data).toString()]);
    const b = batchesOf(rt, stored, NOW).map((x) => [x.msgId, Buffer.from(x.data).toString()]);
    expect(b).toEqual(a);
  });

  it('gives everyone Chinese when the task has no English text, in the messages a chunk without languages had', () => {
    const plain = { task } as TaskRuntime;
    const withLangs = batchesOf(plain, chunk, NOW).map((b) => b.msgId);
    const without = batchesOf(plain, { ...chunk, langs: undefined }, NOW).map((b) => b.msgId);
    expect(withLangs).toEqual(without);
  });
});
