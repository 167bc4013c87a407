import type { SmsJob } from '../contract.ts';

const SAFE = /^[\x20-\x7e]*$/;
const NEEDS_ESCAPE = /["\\]/;

const BATCH_TAIL = Buffer.from(']}');
const COMMA = Buffer.from(',');
const SHARED = ['source', 'enterpriseId', 'accountId', 'sendId', 'content', 'signature', 'alertType', 'createdAt'] as const;

/**
 * Encodes jobs as one `SmsJobBatch` message (the wire form of messaging's job contract, so it lives
 * with the contract; alerting publishes its jobs with it): the fields every job shares (content, signature, ids,
 * time) once in `common`, then per job its id, number and carrier (~75 B instead of ~250 B with a
 * short text; a 2,000-character text would otherwise be repeated per job towards NATS' 1 MB limit).
 * Jobs that do not share them (or carry optional fields) are written whole; their own fields win.
 */
export function encodeJobBatch(jobs: readonly SmsJob[]): Uint8Array {
  const first = jobs[0];
  const common = first ? Object.fromEntries(SHARED.map((k) => [k, first[k]])) : {};
  const parts: Uint8Array[] = [Buffer.from(`{"v":1,"common":${JSON.stringify(common)},"jobs":[`)];
  for (let k = 0; k < jobs.length; k++) {
    const j = jobs[k];
    if (k) parts.push(COMMA);
    const own =
      j.task === undefined &&
      j.extension === undefined &&
      j.forwardTo === undefined &&
      SHARED.every((f) => j[f] === first[f]) &&
      SAFE.test(j.jobId) &&
      !NEEDS_ESCAPE.test(j.jobId) &&
      SAFE.test(j.msisdn) &&
      !NEEDS_ESCAPE.test(j.msisdn);
    parts.push(
      own
        ? Buffer.from(`{"jobId":"${j.jobId}","msisdn":"${j.msisdn}","carrier":"${j.carrier}"}`, 'latin1')
        : Buffer.from(JSON.stringify(j)),
    );
  }
  parts.push(BATCH_TAIL);
  return Buffer.concat(parts);
}
