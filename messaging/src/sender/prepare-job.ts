import type { SmsCarrier, SmsJob } from '../contract.ts';
import { routeNumber } from '../routing/number-routing.ts';
import { composeText } from '../text/compose.ts';
import { segmentText, TextRefusal, type EncodedSms } from '../text/segment-text.ts';

/** What the sender needs to submit a job, or why the job cannot go to any carrier. */
export type PreparedJob =
  | { ok: true; job: SmsJob; carrier: SmsCarrier; msisdn: string; encoded: EncodedSms }
  | { ok: false; job: SmsJob; carrier: SmsCarrier; code: string; reason: string; segments: number };

/**
 * Encodes texts once per distinct text (a send has one text for many recipients) and gives each
 * message its own concatenation reference. Pure apart from the cache.
 */
export class JobPreparer {
  private cache = new Map<string, EncodedSms | TextRefusal>();

  prepare(job: SmsJob): PreparedJob {
    const route = routeNumber(job.msisdn);
    if (!route.ok) return { ok: false, job, carrier: job.carrier, code: route.code, reason: route.reason, segments: 1 };
    if (job.content.trim().length === 0)
      return { ok: false, job, carrier: route.carrier, code: 'EMPTY', reason: '短信内容为空', segments: 1 };
    const text = composeText(job.signature, job.content);
    let enc = this.cache.get(text);
    if (!enc) {
      try {
        enc = segmentText(text, 0);
      } catch (err) {
        if (!(err instanceof TextRefusal)) throw err;
        enc = err;
      }
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(text, enc);
    }
    if (enc instanceof TextRefusal) return { ok: false, job, carrier: route.carrier, code: enc.code, reason: enc.message, segments: 1 };
    return { ok: true, job, carrier: route.carrier, msisdn: route.msisdn, encoded: withReference(enc, referenceOf(job.jobId)) };
  }
}

/** A concatenation reference from the job id: parts of one message share it, messages differ. */
export function referenceOf(jobId: string): number {
  let h = 0;
  for (let i = 0; i < jobId.length; i++) h = (h * 31 + jobId.charCodeAt(i)) & 0xff;
  return h;
}

function withReference(enc: EncodedSms, ref: number): EncodedSms {
  if (enc.parts.length === 1) return enc;
  return {
    ...enc,
    parts: enc.parts.map((p) => {
      const c = Buffer.from(p);
      c[3] = ref;
      return c;
    }),
  };
}
