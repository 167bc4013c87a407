import type { SmsJob } from '@geo/messaging';

const SAFE = /^[\x20-\x7e]*$/;
const NEEDS_ESCAPE = /["\\]/;

/**
 * Encodes SMS jobs to JSON bytes, reusing the encoded bytes of the fields one task's jobs share
 * (content, signature, ids: mostly Chinese text, UTF-8-encoded once per task instead of once per
 * person). Falls back to `JSON.stringify` for any field that is not plain printable ASCII.
 */
export class JobEncoder {
  private key = '';
  private shared = Buffer.alloc(0);

  encode(job: SmsJob): Uint8Array {
    const { jobId, msisdn, carrier, createdAt } = job;
    if (!SAFE.test(jobId) || NEEDS_ESCAPE.test(jobId) || !SAFE.test(msisdn) || NEEDS_ESCAPE.test(msisdn) || job.task !== undefined || job.extension !== undefined || job.forwardTo !== undefined || !Number.isSafeInteger(createdAt)) return Buffer.from(JSON.stringify(job));
    const key = `${job.sendId}\u0000${job.enterpriseId}\u0000${job.accountId}\u0000${job.source}\u0000${job.signature}\u0000${job.content}`;
    if (key !== this.key) {
      this.key = key;
      const s = JSON.stringify({ source: job.source, enterpriseId: job.enterpriseId, accountId: job.accountId, sendId: job.sendId, content: job.content, signature: job.signature });
      this.shared = Buffer.from(`,${s.slice(1, -1)}`);
    }
    const head = `{"jobId":"${jobId}","msisdn":"${msisdn}","carrier":"${carrier}","createdAt":${createdAt}`;
    const out = Buffer.allocUnsafe(head.length + this.shared.length + 1);
    out.write(head, 0, 'latin1');
    this.shared.copy(out, head.length);
    out[out.length - 1] = 0x7d; // }
    return out;
  }
}

const BATCH_HEAD = Buffer.from('{"v":1,"jobs":[');
const BATCH_TAIL = Buffer.from(']}');
const COMMA = Buffer.from(',');

/** Encodes jobs as one messaging `SmsJobBatch` (`{"v":1,"jobs":[…]}`), each job as {@link JobEncoder.encode} does. */
export function encodeJobBatch(enc: JobEncoder, jobs: readonly SmsJob[]): Uint8Array {
  const parts: Uint8Array[] = [BATCH_HEAD];
  for (let k = 0; k < jobs.length; k++) {
    if (k) parts.push(COMMA);
    parts.push(enc.encode(jobs[k]));
  }
  parts.push(BATCH_TAIL);
  return Buffer.concat(parts);
}
