import { JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { smsJobSubject, type SmsJob } from '@geo/messaging';

const WRONG_LAST_SEQUENCE = 10071;

/** A claim's value: enough to publish the job again after a crash. */
export interface ClaimRecord {
  jobId: string;
  carrier: SmsJob['carrier'];
  at: number;
  instance: string;
}

export type ClaimResult = { ok: true } | { ok: false; existing?: ClaimRecord; createdAt?: number };

/**
 * Durable per-person dedup in the `alert_sent` KV bucket: a claim is a KV create (a publish that
 * expects no previous message on the key's subject), which exactly one writer wins, forever (or
 * for the bucket's age), unlike Nats-Msg-Id which only de-duplicates inside the stream's window.
 */
export class SendClaims {
  private readonly prefix: string;

  constructor(private readonly js: JetStreamClient, private readonly kv: KV, bucket: string) {
    this.prefix = `$KV.${bucket}.`;
  }

  async claim(key: string, rec: ClaimRecord): Promise<ClaimResult> {
    try {
      await this.js.publish(this.prefix + key, JSON.stringify(rec), { expect: { lastSubjectSequence: 0 } });
      return { ok: true };
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE)) throw err;
      const e = await this.kv.get(key);
      if (!e || e.operation !== 'PUT') return { ok: false };
      return { ok: false, existing: e.json<ClaimRecord>(), createdAt: e.created.getTime() };
    }
  }

  /** Every claim under a task (`<task>.>`), with its time: for restoring what was sent after a restart. */
  async *list(taskId: string): AsyncGenerator<{ key: string; rec: ClaimRecord; createdAt: number }> {
    // history() ends by itself once the matching entries are delivered (watch() would wait for more).
    for await (const e of await this.kv.history({ key: `${taskId}.>` })) {
      if (e.operation === 'PUT') yield { key: e.key, rec: e.json<ClaimRecord>(), createdAt: e.created.getTime() };
    }
  }
}

/** Publishes SMS jobs with Nats-Msg-Id = jobId, so a republish inside the duplicate window is dropped. */
export async function publishJob(js: JetStreamClient, job: SmsJob): Promise<void> {
  await js.publish(smsJobSubject(job.carrier), JSON.stringify(job), { msgID: job.jobId });
}
