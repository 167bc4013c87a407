import { CARRIERS, type Carrier } from '@geo/ingest';
import { TEXT_LANGUAGES, type TextLanguage } from '../contract.ts';
import type { ClaimChunk } from './claims.ts';
import { JobWriter, type JobTemplate } from './job-wire.ts';

/**
 * Jobs per SMS_JOBS message. JetStream's cost is per message (one write, one Msg-Id lookup, one
 * ack): 100,000 single-job publishes took 2.1 s of Node CPU and 1.5 s of nats-server CPU, the same
 * jobs in batches of 100 took 0.3 s and 0.1 s. @default 100
 */
export const JOB_BATCH = 100;

/** One SMS_JOBS message: jobs of one carrier, with a Nats-Msg-Id that is the same whoever builds it. */
export interface JobBatch {
  carrier: Carrier;
  msgId: string;
  /** The numbers its jobs go to, in order. */
  msisdns: string[];
  /** The message as published (messaging's `SmsJobBatch` wire form). */
  data: Uint8Array;
}

/**
 * The job messages of one stored claim chunk: its people per carrier and text language, in chunk
 * order, `chunk.batch` per message, each with a Msg-Id made of the task, the chunk id, the carrier
 * (and the language, but for Chinese) and the position. A chunk never changes once stored in the
 * claim log and carries its batch size and its people's languages, so whoever publishes its jobs
 * again — this process after a failed publish, a successor after kill -9, a rival instance with
 * another JOB_BATCH_SIZE — builds the same messages with the same Msg-Ids, and SMS_JOBS drops the
 * copies inside its duplicate window. Messaging still sends each job at most once by its job id
 * beyond that window. A chunk without a batch size (written before batching) gives one message per
 * job with Msg-Id = job id, as its writer published them. `template` gives what a carrier's jobs
 * in one language share (see {@link JobWriter}): no job object is made per person. `numbers`: the
 * chunk's numbers as doubles, when its writer has them (this instance's own chunk): written without
 * strings. `langs`: each person's text language (index into TEXT_LANGUAGES; absent: all Chinese).
 *
 * @example
 * chunkBatches('t-1', chunk, (carrier, lang) => template(carrier, lang)) // → [{ carrier: 'cmcc', msgId: 'alert:t-1:a1:17…:3:cmcc:0', msisdns, data }, …]
 */
export function chunkBatches(
  taskId: string,
  chunk: ClaimChunk,
  template: (carrier: Carrier, lang: TextLanguage) => JobTemplate,
  numbers?: Float64Array,
  langs?: Uint8Array,
): JobBatch[] {
  const out: JobBatch[] = [];
  const size = chunk.batch ?? 1;
  const { msisdns, carriers } = chunk;
  const at: number[] = [];
  const languages = langs ? TEXT_LANGUAGES.length : 1;
  for (let ci = 0; ci < CARRIERS.length; ci++) {
    const digit = 48 + ci; // '0' + ci
    const carrier = CARRIERS[ci];
    for (let li = 0; li < languages; li++) {
      const lang = TEXT_LANGUAGES[li];
      // Chinese keeps the Msg-Ids of chunks written before languages.
      const key = li === 0 ? carrier : `${carrier}.${lang}`;
      let writer: JobWriter | undefined;
      let t: JobTemplate | undefined;
      let k = 0;
      for (let n = 0; n <= msisdns.length; n++) {
        if (n < msisdns.length) {
          if (carriers.charCodeAt(n) !== digit || (langs !== undefined && langs[n] !== li)) continue;
          at.push(n);
          if (at.length < size) continue;
        } else if (at.length === 0) break;
        t ??= template(carrier, lang);
        writer ??= new JobWriter(t);
        const people = at.map((p) => msisdns[p]);
        const msgId = chunk.batch === undefined ? `${t.idPrefix}${people[0]}${t.idSuffix}` : `alert:${taskId}:${chunk.id}:${key}:${k++}`;
        out.push({ carrier, msgId, msisdns: people, data: numbers ? writer.encodeNumbers(numbers, at) : writer.encode(msisdns, at) });
        at.length = 0;
      }
    }
  }
  return out;
}
