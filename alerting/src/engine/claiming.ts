import type { Carrier } from '@geo/ingest';
import { NO_CELL, type Presence } from '../presence/presence.ts';
import { sendDay } from '../rules/evaluate.ts';
import type { BudgetScope } from './budget.ts';
import {
  CLAIM_CHUNK,
  carrierDigits,
  chunkLangCode,
  chunkPeople,
  claimChunkOf,
  langLetters,
  type AppendResult,
  type ChunkPlaces,
  type ClaimChunk,
} from './claims.ts';
import { JOB_BATCH, type JobBatch } from './job-batches.ts';
import type { EnginePorts } from './ports.ts';
import { batchesOf, type PublishWindow } from './publish-window.ts';
import { clearBit, markSent, sentBits, unhold, type ShanghaiToday, type TaskRuntime } from './task-runtime.ts';

/**
 * Some people were not sent because this instance no longer certainly holds their shard's lease
 * (its fence lapsed). They are not sent and not done with: the caller must either try them again
 * (the lapse may be momentary) or leave their message unacked for the next owner (#19). Resolving
 * as if sent let the message be acked, and the take-over's replay skipped them.
 */
export class NotOwnedError extends Error {
  constructor(readonly people: number) {
    super(`${people} people of shards whose lease is not certainly held here were not sent`);
    this.name = 'NotOwnedError';
  }
}

function keep(to: Claimants, i: number, msisdn: string, carrier: number): void {
  to.i.push(i);
  to.msisdn.push(msisdn);
  to.carrier.push(carrier);
}

/** People of one task and carrier in one send, with their budget reservation. */
export interface BudgetGroup {
  rt: TaskRuntime;
  carrier: Carrier;
  scope: BudgetScope;
  idx: number[];
  /** Reserved and not used (claimed by someone else first): given back after the send. */
  unused: number;
}

/** A budget group with nobody in it yet. */
export function budgetGroup(rt: TaskRuntime, carrier: Carrier, day: string): BudgetGroup {
  const spec = rt.task.spec;
  return {
    rt,
    carrier,
    idx: [],
    unused: 0,
    scope: { taskId: rt.task.id, accountId: spec.accountId, carrier, day, quota: spec.quota[carrier]!, initialBalance: spec.balance },
  };
}

/**
 * People to claim on one claim subject, by columns (no object per person: a task's start claims a
 * million): subscriber index, number, carrier (index into CARRIERS); `groups` gives each carrier's
 * budget group, whose reservation a person not claimed after all gives back.
 */
export interface Claimants {
  rt: TaskRuntime;
  subject: string;
  groups: (BudgetGroup | undefined)[];
  i: number[];
  msisdn: string[];
  carrier: number[];
}

export const claimants = (rt: TaskRuntime, subject: string): Claimants => ({ rt, subject, groups: [], i: [], msisdn: [], carrier: [] });

/**
 * Claiming people in the claim log (`ALERT_CLAIMS`): one append per chunk of a claim subject, the
 * chunks others stored first folded into what this instance knows was sent, and a task's claims
 * read back after a restart or a takeover. The log is what keeps a person sent once, whichever
 * instance sends.
 */
export class Claiming {
  private readonly republishWithinMs: number;
  private chunkSeq = 0;

  constructor(
    private readonly ports: EnginePorts,
    private readonly presence: Presence,
    private readonly today: ShanghaiToday,
    private readonly jobs: PublishWindow,
    /** Someone chosen for sending was dropped because their shard lease is not certainly held here. */
    private readonly notOwned?: (rt: TaskRuntime, i: number) => void,
  ) {
    this.republishWithinMs = ports.republishWithinMs ?? 8 * 60_000;
  }

  /**
   * Claims people on one claim subject, chunk by chunk; returns the chunks this instance stored.
   * Chunks others stored first are folded into what this instance knows was sent (their recent
   * jobs are published again: JetStream drops the copy when the first made it).
   */
  async claim(
    cl: Claimants,
    now: number,
    errors: unknown[],
    onWon?: (chunk: ClaimChunk, numbers: Float64Array) => void,
  ): Promise<ClaimChunk[]> {
    const { rt, subject, groups } = cl;
    const won: ClaimChunk[] = [];
    const owns = this.ports.owns;
    const size = this.ports.claimChunk ?? CLAIM_CHUNK;
    let { i, msisdn, carrier } = cl;
    let from = 0;
    while (from < i.length) {
      // The next chunk: people from `from` on, up to `size`.
      const to = Math.min(i.length, from + size);
      if (owns) {
        // Fencing (lease mode): the lease is checked again right before each append, not only when
        // the send began. An owner that stalled after choosing its people (GC pause, SIGSTOP, slow
        // KV) and lost the lease meanwhile claims nobody of that shard on its stale presence; the
        // new owner decides about them. Their reservations are given back.
        // Those left out make the send fail (NotOwnedError): retried, or their message left unacked.
        let all = true;
        for (let k = from; k < to && all; k++) all = owns(i[k]);
        if (!all) {
          const kept = claimants(rt, subject);
          let dropped = 0;
          for (let k = from; k < i.length; k++) {
            if (k < to && !owns(i[k])) {
              clearBit(rt.sent, i[k]);
              this.notOwned?.(rt, i[k]);
              groups[carrier[k]]!.unused++;
              dropped++;
            } else keep(kept, i[k], msisdn[k], carrier[k]);
          }
          errors.push(new NotOwnedError(dropped));
          ({ i, msisdn, carrier } = kept);
          from = 0;
          continue; // the next chunk's people, checked again
        }
      }
      let r: AppendResult;
      const stored = claimChunkOf(
        `${this.ports.instance}:${now}:${++this.chunkSeq}`,
        this.ports.instance,
        now,
        msisdn.slice(from, to),
        carrierDigits(carrier, from, to),
        this.ports.jobBatch ?? JOB_BATCH,
        this.ports.fence?.(),
        this.placesOf(i, from, to),
        langLetters(this.presence.lang, i, from, to),
      );
      try {
        r = await this.ports.claims.append(subject, stored);
      } catch (err) {
        // Unknown outcome: they may be reconsidered, and their reservations stay taken.
        // The chunks won before this one are still published by the caller.
        for (let k = from; k < i.length; k++) clearBit(rt.sent, i[k]);
        for (let k = to; k < i.length; k++) groups[carrier[k]]!.unused++;
        errors.push(err);
        break;
      }
      // Others' chunks may hold people of this chunk (when it lost) or of the chunks still to come.
      const taken = r.others.length ? await this.fold(rt, r.others, now, new Set(msisdn.slice(from))) : undefined;
      if (r.ok) {
        won.push(stored);
        if (onWon) {
          const numbers = new Float64Array(to - from);
          for (let k = from; k < to; k++) numbers[k - from] = this.presence.msisdn[i[k]];
          onWon(stored, numbers);
        }
        for (let k = from; k < to; k++) unhold(rt, i[k]);
      }
      const next = r.ok ? to : from;
      if (taken) {
        const left = claimants(rt, subject);
        for (let k = next; k < i.length; k++) {
          if (taken.has(msisdn[k])) groups[carrier[k]]!.unused++;
          else keep(left, i[k], msisdn[k], carrier[k]);
        }
        ({ i, msisdn, carrier } = left);
        from = 0;
      } else from = next;
    }
    return won;
  }

  /** Folds others' claim chunks into what was sent; returns which of `mine` they claimed. */
  private async fold(rt: TaskRuntime, chunks: ClaimChunk[], now: number, mine?: Set<string>): Promise<Set<string>> {
    const taken = new Set<string>();
    const again: JobBatch[] = [];
    for (const ch of chunks) {
      const recent = now - ch.at < this.republishWithinMs && !rt.removed;
      let wanted = false;
      let k = 0;
      for (const { msisdn, carrier } of chunkPeople(ch)) {
        const i = this.presence.ensure(msisdn, carrier);
        this.learnLang(ch, k++, i);
        sentBits(rt, this.today.at(now));
        markSent(rt, i, this.presence.size);
        unhold(rt, i);
        if (mine?.has(msisdn)) {
          taken.add(msisdn);
          wanted = true;
        }
      }
      // The whole chunk's messages, as its writer built them, so that the stream drops the copies.
      if (recent && wanted) for (const b of batchesOf(rt, ch, now)) again.push(b);
    }
    if (again.length) await this.jobs.publishAll(rt, again, false);
    return taken;
  }

  /**
   * A person's language from a claim chunk, when presence does not know it (a restart before the
   * LOCATION replay reached them, people of a shard another instance owned): their next task's
   * text is then chosen as the chunk's was.
   */
  private learnLang(ch: ClaimChunk, k: number, i: number): void {
    if (ch.langs !== undefined && this.presence.lang[i] === 0) this.presence.lang[i] = chunkLangCode(ch, k);
  }

  /** Per cell: the chunk (its {@link placeStamp}) that last listed it, and where in its table. */
  private placeSeen = new Int32Array(0);
  private placeAt = new Int32Array(0);
  private placeStamp = 0;

  /** Where people `i[from … to)` are now (their serving cell), as a chunk's place table. */
  private placesOf(i: readonly number[], from: number, to: number): ChunkPlaces & { of: number[] } {
    const cells = this.presence.cells;
    if (this.placeSeen.length < cells.size) {
      this.placeSeen = new Int32Array(Math.max(cells.size, this.placeSeen.length * 2));
      this.placeAt = new Int32Array(this.placeSeen.length);
      this.placeStamp = 0;
    }
    const stamp = ++this.placeStamp;
    const { placeSeen, placeAt } = this;
    const out: ChunkPlaces & { of: number[] } = { ids: [], lng: [], lat: [], of: new Array<number>(to - from) };
    for (let k = from; k < to; k++) {
      const c = this.presence.cell[i[k]];
      if (c === NO_CELL) {
        out.of[k - from] = -1;
        continue;
      }
      if (placeSeen[c] !== stamp) {
        placeSeen[c] = stamp;
        placeAt[c] = out.ids.length;
        out.ids.push(cells.ids[c]!);
        out.lng.push(cells.lng[c]!);
        out.lat.push(cells.lat[c]!);
      }
      out.of[k - from] = placeAt[c];
    }
    return out;
  }

  /**
   * Restores what was already claimed for a task (after a restart) and publishes again the jobs of
   * recent claims, which a crash may have left unpublished (JetStream drops the real duplicates).
   */
  async restore(rt: TaskRuntime): Promise<{ claims: number; republished: number }> {
    const id = rt.task.id;
    const now = this.ports.now();
    const sd = sendDay(rt.task.spec.frequency, now);
    let claims = 0,
      republished = 0;
    const again: JobBatch[] = [];
    for await (const { chunk } of this.ports.claims.list(id, sd)) {
      let k = 0;
      for (const { msisdn, carrier } of chunkPeople(chunk)) {
        const i = this.presence.ensure(msisdn, carrier);
        this.learnLang(chunk, k++, i);
        sentBits(rt, this.today.at(now));
        markSent(rt, i, this.presence.size);
        unhold(rt, i);
        claims++;
      }
      if (now - chunk.at < this.republishWithinMs) {
        for (const b of batchesOf(rt, chunk, now)) again.push(b);
        republished += chunk.msisdns.length;
      }
    }
    if (again.length) await this.jobs.publishAll(rt, again, false);
    return { claims, republished };
  }
}
