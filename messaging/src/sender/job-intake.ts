import type { JsMsg } from '@nats-io/jetstream';
import { deadLetterMsg, deadLetterWriter, describeIssues } from '@geo/infra';
import { SmsJob, SmsJobBatch, isSmsJobBatch, jobsOfBatch, type SmsCarrier } from '../contract.ts';
import type { SenderContext } from './context.ts';
import type { JobMsg, JobPolicy } from './job-policy.ts';

/**
 * Intake of SMS_JOBS messages: decodes a job or a batch (what fails the contract is dead-lettered
 * with the reason), hands each job to the policy, and acks a batch once all its jobs are done.
 */
export class JobIntake {
  /** Messages being handled: kept from redelivery while they wait (see `SmsSender.start`). */
  readonly inHand = new Set<JsMsg>();
  /** Jobs of batches waiting to be tried again in this process. */
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Jobs being handled now (each job of a batch counts). */
  private jobsInHand = 0;
  /** Messages decoded and waiting for room among the jobs in hand, first come first served. */
  private readonly waiting: { n: number; go: () => void }[] = [];

  constructor(
    private readonly c: SenderContext,
    private readonly policy: JobPolicy,
    /** Whether this instance takes the carrier's jobs now. */
    private readonly taking: (carrier: SmsCarrier) => boolean,
  ) {}

  /** Drops the batch jobs waiting to be tried again (the batch comes back whole). */
  stop(): void {
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    // Messages waiting for room are handed back (handle() sees `stopping`).
    for (const w of this.waiting.splice(0)) w.go();
  }

  /**
   * Waits until `n` more jobs may be in hand: `maxInFlight` counts jobs, not messages, so that a
   * consumer's share of messages (max_ack_pending) that are batches of up to 1,000 jobs cannot put
   * hundreds of thousands of jobs in hand at once (in memory, queued at the connectors, and all
   * started in one turn of the event loop, long enough for a bind's lease to lapse on a loaded
   * machine). A message larger than the whole allowance goes in alone.
   */
  private room(n: number): Promise<void> {
    const max = this.c.o.maxInFlight ?? 5000;
    if (this.waiting.length === 0 && (this.jobsInHand === 0 || this.jobsInHand + n <= max)) {
      this.jobsInHand += n;
      return Promise.resolve();
    }
    return new Promise((go) =>
      this.waiting.push({
        n,
        go: () => {
          this.jobsInHand += n;
          go();
        },
      }),
    );
  }

  private done(n: number): void {
    this.jobsInHand -= n;
    const max = this.c.o.maxInFlight ?? 5000;
    while (this.waiting.length > 0 && (this.jobsInHand === 0 || this.jobsInHand + this.waiting[0]!.n <= max)) this.waiting.shift()!.go();
  }

  async handle(m: JsMsg): Promise<void> {
    // Pulled before this instance stopped taking the carrier's jobs: another instance sends it.
    const carrier = m.subject.slice(m.subject.lastIndexOf('.') + 1) as SmsCarrier;
    if (this.c.o.leasedCarriers && !this.taking(carrier)) {
      m.nak(200);
      return;
    }
    this.inHand.add(m);
    let held = 0;
    try {
      const jobs = await this.decode(m);
      if (!jobs) return;
      await this.room(jobs.jobs.length);
      held = jobs.jobs.length;
      // Waited for room meanwhile: stopping, or no longer taking the carrier's jobs.
      if (this.c.stopping || (this.c.o.leasedCarriers && !this.taking(carrier))) {
        m.nak(200);
        return;
      }
      if (jobs.batch) await this.handleBatch(m, jobs.jobs);
      else await this.policy.handleJob(m, jobs.jobs[0]);
    } catch (err) {
      this.c.o.log.error({ err, seq: m.seq }, 'job failed; it will come back');
      m.nak(2000);
    } finally {
      this.inHand.delete(m);
      if (held > 0) this.done(held);
    }
  }

  /** The jobs of a message (one SmsJob or one SmsJobBatch), or undefined when it was dead-lettered. */
  private async decode(m: JsMsg): Promise<{ batch: boolean; jobs: SmsJob[] } | undefined> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(m.data));
    } catch (err) {
      await deadLetterMsg(deadLetterWriter(this.c.o.nc, 'messaging'), m, `not valid JSON: ${(err as Error).message}`);
      return undefined;
    }
    if (isSmsJobBatch(parsed)) {
      // Batches come from alerting, built by code: one that fails the contract is dead-lettered whole.
      const b = SmsJobBatch.safeParse(parsed);
      if (!b.success) {
        await deadLetterMsg(
          deadLetterWriter(this.c.o.nc, 'messaging'),
          m,
          `does not match the SMS job batch contract: ${describeIssues(b.error)}`,
        );
        return undefined;
      }
      const j = jobsOfBatch(b.data);
      if (j.ok) return { batch: true, jobs: j.jobs };
      await deadLetterMsg(
        deadLetterWriter(this.c.o.nc, 'messaging'),
        m,
        `does not match the SMS job batch contract: jobs.${j.index}: ${describeIssues(j.error)}`,
      );
      return undefined;
    }
    const r = SmsJob.safeParse(parsed);
    if (r.success) return { batch: false, jobs: [r.data] };
    await deadLetterMsg(deadLetterWriter(this.c.o.nc, 'messaging'), m, `does not match the SMS job contract: ${describeIssues(r.error)}`);
    return undefined;
  }

  /**
   * Each job of a batch is handled as if it were its own message; the batch is acked when every
   * job is done. A job that would be handed back (nak) is retried here after the delay instead, so
   * its siblings already sent are not redelivered; a crash redelivers the whole batch, and the jobs
   * already claimed are found in the claim log and the send log, as a redelivered single job is.
   */
  private handleBatch(m: JsMsg, jobs: SmsJob[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let left = jobs.length;
      let handBack = false;
      const settle = () => {
        if (--left > 0) return;
        if (handBack) m.nak(500);
        else m.ack();
        resolve();
      };
      const run = (job: SmsJob) => {
        let settled = false;
        const part: JobMsg = {
          seq: m.seq,
          ack: () => {
            if (settled) return;
            settled = true;
            settle();
          },
          handBack: () => {
            if (settled) return;
            settled = true;
            handBack = true;
            settle();
          },
          nak: (delay?: number) => {
            if (settled || this.c.stopping) return;
            settled = true;
            const t = setTimeout(() => {
              this.retryTimers.delete(t);
              if (!this.c.stopping) run(job);
            }, delay ?? 2000);
            this.retryTimers.add(t);
          },
        };
        this.policy.handleJob(part, job).catch((err: unknown) => {
          this.c.o.log.error({ err, seq: m.seq, jobId: job.jobId }, 'job of a batch failed; it will be tried again');
          part.nak(2000);
        });
      };
      for (const job of jobs) run(job);
    });
  }
}
