import type { Carrier } from '@geo/ingest';
import { NO_CELL, type Presence } from '../presence/presence.ts';
import { sendDay } from '../rules/evaluate.ts';
import type { BudgetScope } from './budget.ts';
import { CLAIM_CHUNK, chunkPeople, claimChunk, type AppendResult, type ChunkPlaces, type ClaimChunk } from './claims.ts';
import { JOB_BATCH, type JobBatch } from './job-batches.ts';
import type { EnginePorts } from './ports.ts';
import { batchesOf, type PublishWindow } from './publish-window.ts';
import { clearBit, markSent, sentBits, unhold, type ShanghaiToday, type TaskRuntime } from './task-runtime.ts';

/** People of one task and carrier in one send, with their budget reservation. */
export interface BudgetGroup {
  rt: TaskRuntime;
  carrier: Carrier;
  scope: BudgetScope;
  idx: number[];
  /** Reserved and not used (claimed by someone else first): given back after the send. */
  unused: number;
}

export interface Claimant {
  i: number;
  msisdn: string;
  carrier: Carrier;
  group: BudgetGroup;
}

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
  ) {
    this.republishWithinMs = ports.republishWithinMs ?? 8 * 60_000;
  }

  /**
   * Claims people on one claim subject, chunk by chunk; returns those this instance won. Chunks
   * others stored first are folded into what this instance knows was sent (their recent jobs are
   * published again: JetStream drops the copy when the first made it).
   */
  async claim(
    rt: TaskRuntime,
    subject: string,
    people: Claimant[],
    now: number,
    errors: unknown[],
    onWon?: (chunk: ClaimChunk) => void,
  ): Promise<ClaimChunk[]> {
    const won: ClaimChunk[] = [];
    let todo = people;
    const owns = this.ports.owns;
    while (todo.length) {
      if (owns) {
        // Fencing (lease mode): the lease is checked again right before each append, not only when
        // the send began. An owner that stalled after choosing its people (GC pause, SIGSTOP, slow
        // KV) and lost the lease meanwhile claims nobody of that shard on its stale presence; the
        // new owner decides about them. Their reservations are given back.
        const still: Claimant[] = [];
        for (const c of todo) {
          if (owns(c.i)) still.push(c);
          else {
            clearBit(rt.sent, c.i);
            c.group.unused++;
          }
        }
        todo = still;
        if (!todo.length) break;
      }
      const size = this.ports.claimChunk ?? CLAIM_CHUNK;
      const chunk = todo.length > size ? todo.slice(0, size) : todo;
      const rest = todo.length > size ? todo.slice(size) : [];
      let r: AppendResult;
      const stored = claimChunk(
        `${this.ports.instance}:${now}:${++this.chunkSeq}`,
        this.ports.instance,
        now,
        chunk,
        this.ports.jobBatch ?? JOB_BATCH,
        this.ports.fence?.(),
        this.placesOf(chunk),
      );
      try {
        r = await this.ports.claims.append(subject, stored);
      } catch (err) {
        // Unknown outcome: they may be reconsidered, and their reservations stay taken.
        // The chunks won before this one are still published by the caller.
        for (const c of todo) clearBit(rt.sent, c.i);
        for (const c of rest) c.group.unused++;
        errors.push(err);
        break;
      }
      // Others' chunks may hold people of this chunk (when it lost) or of the chunks still to come.
      const taken = r.others.length ? await this.fold(rt, r.others, now, new Set(todo.map((c) => c.msisdn))) : undefined;
      if (r.ok) {
        won.push(stored);
        onWon?.(stored);
        for (const c of chunk) {
          unhold(rt, c.i);
        }
      }
      const left: Claimant[] = [];
      for (const c of r.ok ? rest : todo) {
        if (taken?.has(c.msisdn)) c.group.unused++;
        else left.push(c);
      }
      todo = left;
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
      for (const { msisdn, carrier } of chunkPeople(ch)) {
        const i = this.presence.ensure(msisdn, carrier);
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

  /** Where each claimant is now (their serving cell), as a chunk's place table. */
  private placesOf(people: readonly Claimant[]): ChunkPlaces & { of: number[] } {
    const cells = this.presence.cells;
    const at = new Map<number, number>();
    const out: ChunkPlaces & { of: number[] } = { ids: [], lng: [], lat: [], of: [] };
    for (const { i } of people) {
      const c = this.presence.cell[i];
      if (c === NO_CELL) {
        out.of.push(-1);
        continue;
      }
      let k = at.get(c);
      if (k === undefined) {
        at.set(c, (k = out.ids.length));
        out.ids.push(cells.ids[c]!);
        out.lng.push(cells.lng[c]!);
        out.lat.push(cells.lat[c]!);
      }
      out.of.push(k);
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
      for (const { msisdn, carrier } of chunkPeople(chunk)) {
        const i = this.presence.ensure(msisdn, carrier);
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
