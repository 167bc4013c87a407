import { TEXT_LANGUAGES, alertJobId, type AlertTask } from '../contract.ts';
import { sendDay } from '../rules/evaluate.ts';
import { alertJob, textLanguageOf } from './alert-job.ts';
import { chunkLangCode, type ClaimChunk } from './claims.ts';
import { chunkBatches, type JobBatch } from './job-batches.ts';
import { jobTemplate } from './job-wire.ts';
import type { TaskRuntime } from './task-runtime.ts';

/** Job messages in flight at once. */
const PUBLISH_WINDOW = 1_024;

/**
 * The job messages of a stored claim chunk (see {@link chunkBatches}): each carrier's jobs as
 * {@link alertJob} builds them, each person's in the language their profile had when claimed.
 */
export function batchesOf(rt: TaskRuntime, ch: ClaimChunk, now: number, numbers?: Float64Array): JobBatch[] {
  const sd = sendDay(rt.task.spec.frequency, now);
  const { task } = rt;
  return chunkBatches(
    task.id,
    ch,
    (carrier, lang) => jobTemplate((msisdn) => alertJob(task, msisdn, carrier, alertJobId(task.id, msisdn, sd), now, lang)),
    numbers,
    chunkTextLanguages(task.spec, ch),
  );
}

/** Each person's text language (index into TEXT_LANGUAGES) by the chunk's languages; undefined when all get Chinese. */
function chunkTextLanguages(spec: AlertTask['spec'], ch: ClaimChunk): Uint8Array | undefined {
  if (ch.langs === undefined || !spec.contents?.en) return undefined;
  const out = new Uint8Array(ch.msisdns.length);
  let any = false;
  for (let k = 0; k < out.length; k++) {
    out[k] = TEXT_LANGUAGES.indexOf(textLanguageOf(spec, chunkLangCode(ch, k)));
    any ||= out[k] !== 0;
  }
  return any ? out : undefined;
}

/**
 * Publishes SMS_JOBS messages of claimed people, many in flight, and keeps the ones whose publish
 * failed for the next tick: their claims are stored, so they must go out, and their Msg-Ids make a
 * second copy harmless.
 */
export class PublishWindow {
  /** Jobs whose claim is stored but whose publish failed: retried by {@link retryPublishes}. */
  private retry: { rt: TaskRuntime; batch: JobBatch; count: boolean }[] = [];
  /** Jobs published since start (for metrics). */
  published = 0;

  constructor(private readonly publish: (batch: JobBatch) => Promise<unknown>) {}

  /**
   * People whose jobs wait in the retry list for their publish (claims stored, not yet on
   * SMS_JOBS): not quiet while above 0 (#19).
   */
  get awaiting(): number {
    let n = 0;
    for (const r of this.retry) n += r.batch.msisdns.length;
    return n;
  }

  /** Whether a job of this task to this number waits for its publish to be retried. */
  retrying(rt: TaskRuntime, msisdn: string): boolean {
    return this.retry.some((r) => r.rt === rt && r.batch.msisdns.includes(msisdn));
  }

  private inflight = 0;
  private readonly queued: (() => void)[] = [];

  /** A place in the window, shared by every publishAll under way (several chunks publish at once). */
  private async enter(): Promise<void> {
    if (this.inflight < PUBLISH_WINDOW) {
      this.inflight++;
      return;
    }
    await new Promise<void>((r) => this.queued.push(r));
  }

  /** Hands the place to the next one waiting, or frees it. */
  private leave(): void {
    const next = this.queued.shift();
    if (next) next();
    else this.inflight--;
  }

  /**
   * Publishes job messages, up to {@link PUBLISH_WINDOW} in flight over all callers (a sliding
   * window); failed ones go to the retry list. `count`: these are this instance's own sends
   * (progress and `published`); republished copies of sends already counted (restored claims, a
   * rival's chunks) are not counted, also when they are retried.
   */
  async publishAll(rt: TaskRuntime, batches: JobBatch[], count = true): Promise<{ ok: number; error?: unknown }> {
    let ok = 0;
    let error: unknown;
    await Promise.all(
      batches.map(async (batch) => {
        await this.enter();
        try {
          await this.publish(batch);
          if (count) {
            rt.sentBy[batch.carrier] += batch.msisdns.length;
            ok += batch.msisdns.length;
          }
        } catch (err) {
          error ??= err;
          this.retry.push({ rt, batch, count });
        } finally {
          this.leave();
        }
      }),
    );
    if (count && ok) {
      rt.dirty = true;
      this.published += ok;
    }
    return { ok, error };
  }

  /** The retry under way, if any: one at a time, whoever asks (the tick, the engine's own retry timer). */
  private republishing?: Promise<void>;

  /**
   * Publishes again the job messages whose publish failed (their claims are stored). One retry at
   * a time: a caller arriving while one is under way waits for that one.
   */
  retryPublishes(): Promise<void> {
    if (this.retry.length === 0) return this.republishing ?? Promise.resolve();
    this.republishing ??= this.republish().finally(() => (this.republishing = undefined));
    return this.republishing;
  }

  private async republish(): Promise<void> {
    const todo = this.retry;
    this.retry = [];
    const groups = new Map<string, { rt: TaskRuntime; count: boolean; batches: JobBatch[] }>();
    for (const { rt, batch, count } of todo) {
      if (rt.removed) continue;
      const key = `${rt.slot}:${count}`;
      (groups.get(key) ?? groups.set(key, { rt, count, batches: [] }).get(key)!).batches.push(batch);
    }
    for (const g of groups.values()) await this.publishAll(g.rt, g.batches, g.count);
  }
}
