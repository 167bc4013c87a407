import type { JsMsg } from '@nats-io/jetstream';
import type { SmsCarrier, SmsJob } from '../contract.ts';
import { exemptionOf } from '../limits/recipient-limits.ts';
import type { SenderContext, Tracked } from './context.ts';
import { receiptKey } from './context.ts';
import { JobPreparer, type PreparedJob } from './prepare-job.ts';

type Ready = Extract<PreparedJob, { ok: true }>;

/**
 * What handling one job needs of its message: the JsMsg of a single job, or a part of a batch's.
 * `handBack`: the job must go to another instance (no bind of its carrier is held here): a batch
 * is then handed back whole once its other jobs are done (they are found done when it comes again).
 */
export type JobMsg = Pick<JsMsg, 'ack' | 'nak' | 'seq'> & { handBack?: () => void };

/**
 * What happens to one job: rejected (text, number), already claimed (uncertain-job policy),
 * queued again under the carrier its number routes to, held back by the per-number limits
 * (alerts exempt), or submitted under a claim and its outcome recorded.
 */
export class JobPolicy {
  private readonly prep = new JobPreparer();
  private readonly registered = new Set<string>();

  constructor(private readonly c: SenderContext) {}

  async handleJob(m: JobMsg, job: SmsJob): Promise<void> {
    this.c.counts.jobs++;
    const p = this.prep.prepare(job);
    if (!p.ok) {
      // Nothing went to a carrier, so writing this twice is harmless (same version).
      this.c.counts.rejected++;
      this.c.metrics.jobs.inc({ carrier: p.carrier, outcome: 'rejected' });
      await this.c.records.record(
        { job, carrier: p.carrier, smscId: '', segments: p.segments, submitMs: 0, messageIds: [] },
        'rejected',
        p.code,
        job.createdAt,
        p.reason,
      );
      this.c.records.ack(m);
      return;
    }
    const segments = p.encoded.parts.length;
    if (this.c.claims.has(job.jobId)) {
      await this.alreadyClaimed(m, job, p, segments);
      return;
    }
    if (this.c.o.leasedCarriers && p.carrier !== job.carrier && (this.c.o.connectors.get(p.carrier)?.status().held ?? 0) === 0) {
      await this.forward(m, job, p.carrier);
      return;
    }
    if (this.c.o.limiter?.active && (await this.heldBack(job, p, segments))) {
      this.c.records.ack(m);
      return;
    }
    await this.submit(m, job, p, () => this.c.claims.claim(job.jobId));
  }

  /**
   * A job queued under one carrier whose number routes to another (a producer that took the carrier
   * from elsewhere, a ported number) and this instance holds no bind of that other carrier: it is
   * queued again under the carrier it goes to, for an instance that holds one. Handing it back
   * instead would bring it only to instances taking the first carrier, which may hold none either.
   * Nothing was claimed, so nothing can be sent twice; the copy's Msg-Id names the carrier.
   */
  private async forward(m: JobMsg, job: SmsJob, carrier: SmsCarrier): Promise<void> {
    await this.c.js.publish(this.c.names.jobSubject(carrier), JSON.stringify({ ...job, carrier } satisfies SmsJob), {
      msgID: `${job.jobId}:${carrier}`,
    });
    this.c.counts.forwarded++;
    this.c.o.log.info({ jobId: job.jobId, from: job.carrier, to: carrier }, 'job queued again under the carrier its number routes to');
    this.c.records.ack(m);
  }

  /**
   * Whether the per-number limits hold the job back (anti-bombing); if so its send-log row says
   * rejected, code RATE_LIMITED, and its status event the reason (频率限制：…). Jobs exempt by rule
   * (alerts, forwarded replies) are counted, never held.
   */
  private async heldBack(job: SmsJob, p: Ready, segments: number): Promise<boolean> {
    const limiter = this.c.o.limiter!;
    const exempt = exemptionOf(job, limiter.limits);
    if (exempt) {
      this.c.metrics.exempt.inc({ reason: exempt });
      return false;
    }
    const d = await limiter.admit(job, p.msisdn);
    if (d.ok) return false;
    // A job held before and come again (redelivery, a producer's copy) is recorded again but
    // counted once: the counter counts jobs held back, not attempts.
    if (d.again) this.c.counts.limitedAgain++;
    else {
      this.c.counts.limited++;
      this.c.metrics.limited.inc({ carrier: p.carrier, window: d.window });
    }
    await this.c.records.record(
      { job, carrier: p.carrier, smscId: '', segments, submitMs: 0, messageIds: [] },
      'rejected',
      'RATE_LIMITED',
      Date.now(),
      d.reason,
    );
    return true;
  }

  /** Submits a prepared job and records its outcome; `claim` runs just before the wire. */
  private async submit(m: JobMsg, job: SmsJob, p: Ready, claim: () => Promise<boolean>): Promise<void> {
    const connector = this.c.o.connectors.get(p.carrier);
    if (!connector) throw new Error(`no connector for ${p.carrier}`);
    const segments = p.encoded.parts.length;
    if (job.extension) await this.ensureExtension(job);
    const outcome = await connector.submit({
      ref: job.jobId,
      msisdn: p.msisdn,
      source: this.c.o.accessNumbers[p.carrier] + (job.extension ?? ''),
      encoded: p.encoded,
      beforeSend: claim,
    });
    if (!outcome.ok && outcome.cancelled) {
      await this.alreadyClaimed(m, job, p, segments);
      return;
    }
    if (!outcome.ok && outcome.handedBack) {
      // No bind of the carrier is held here any more: the job goes to an instance that holds one
      // (claimed: it finds the claim and resolves the job as uncertain, by the receipts).
      this.c.counts.handedBack++;
      this.c.o.log.debug(
        { jobId: job.jobId, carrier: p.carrier, claimed: outcome.claimed, written: outcome.written },
        'job handed back: no bind of its carrier held here',
      );
      // Claimed but never written: the claim is withdrawn, so the next instance sends it at once
      // (else it would wait for a receipt that cannot come, then resubmit).
      if (outcome.claimed && !outcome.written) {
        await this.c.claims
          .withdraw([job.jobId])
          .catch((err: unknown) =>
            this.c.o.log.warn({ err, jobId: job.jobId }, 'claim not withdrawn; the job will be resolved as uncertain'),
          );
      }
      if (m.handBack) m.handBack();
      else m.nak(500);
      return;
    }
    // The claim could not be stored (NATS down or restarting): nothing went out, so the job is
    // not failed but handed back (handle() naks it) and sent when it comes again.
    if (!outcome.ok && outcome.code === 'CLAIM_FAILED') throw new Error(`claim not stored for ${job.jobId}; job handed back`);
    const now = Date.now();
    const base = { job, carrier: p.carrier, smscId: connector.smscId, segments, submitMs: now, messageIds: outcome.messageIds };
    if (outcome.ok) {
      this.c.counts.submitted++;
      this.c.metrics.jobs.inc({ carrier: p.carrier, outcome: 'submitted' });
      const t: Tracked = { ...base, receipts: 0, worst: 'delivered' };
      for (const id of outcome.messageIds) this.c.byMessageId.set(receiptKey(p.carrier, connector.smscId, id), t);
      await this.c.records.record(base, 'submitted', '', now);
    } else {
      this.c.counts.failed++;
      this.c.metrics.jobs.inc({ carrier: p.carrier, outcome: 'failed' });
      await this.c.records.record(base, 'failed', outcome.code, now);
    }
    this.c.records.ack(m);
  }

  /**
   * A redelivered job that was claimed before: done when the log has it; otherwise it was on the
   * wire when the sender died, and only a receipt can tell whether the carrier took it.
   */
  private async alreadyClaimed(m: JobMsg, job: SmsJob, p: Ready, segments: number): Promise<void> {
    const carrier = p.carrier;
    this.c.counts.duplicates++;
    if (await this.c.records.logged(job.jobId)) {
      // Resolved meanwhile (maybe by another instance): no receipt to that number is its any more.
      this.c.uncertain.forget(job.jobId);
      this.c.records.ack(m);
      return;
    }
    const claimedAt = this.c.claims.claimedAt(job.jobId) ?? Date.now();
    const resolveMs = this.c.o.uncertainResolveMs ?? 600_000;
    // Old enough, and this process has itself been taking receipts for half that time: after a
    // slow restart the receipts the carrier still owes come now, not before we were back.
    const since = this.c.uncertain.get(job.jobId)?.since ?? Date.now();
    if (Date.now() - claimedAt > resolveMs && Date.now() - since > resolveMs / 2) {
      this.c.uncertain.forget(job.jobId);
      this.c.counts.uncertain++;
      if ((this.c.o.uncertainPolicy ?? 'resubmit') === 'resubmit') {
        // No receipt echoed it (the carrier sends one for every message it took, registered_delivery
        // = 1): taken as never received, and sent again under a fresh claim.
        this.c.counts.resubmitted++;
        this.c.metrics.uncertain.inc({ outcome: 'resubmitted' });
        this.c.o.log.warn({ jobId: job.jobId, claimedAt }, 'job cut off by a restart with no receipt: sent again');
        await this.submit(m, job, p, () => this.c.claims.reclaim(job.jobId));
        return;
      }
      this.c.o.log.warn({ jobId: job.jobId, claimedAt }, 'job cut off by a restart with no receipt: recorded UNCERTAIN, not sent again');
      this.c.metrics.uncertain.inc({ outcome: 'failed' });
      await this.c.records.record(
        { job, carrier, smscId: this.smscOf(carrier), segments, submitMs: claimedAt, messageIds: [] },
        'failed',
        'UNCERTAIN',
        Date.now(),
        '发送时服务中断，且运营商未回执，无法确认是否已发送',
      );
      this.c.records.ack(m);
      return;
    }
    this.c.uncertain.hold({ job, carrier, msisdn: p.msisdn, segments, since });
    m.nak(this.c.o.uncertainRetryMs ?? 2000);
  }

  private smscOf(carrier: SmsCarrier): string {
    return this.c.o.connectors.get(carrier)?.smscId ?? carrier;
  }

  private async ensureExtension(job: SmsJob): Promise<void> {
    const k = `${job.enterpriseId}|${job.sendId}|${job.extension}`;
    if (this.registered.has(k)) return;
    const ok = await this.c.o.extensions.register({
      extension: job.extension!,
      enterpriseId: job.enterpriseId,
      accountId: job.accountId,
      sendId: job.sendId,
      forwardTo: job.forwardTo,
      signature: job.signature,
      expiresAt: Date.now() + 7 * 24 * 3600_000,
    });
    if (!ok)
      this.c.o.log.warn({ extension: job.extension, sendId: job.sendId }, 'extension held by another live send; replies may go astray');
    this.registered.add(k);
  }
}
