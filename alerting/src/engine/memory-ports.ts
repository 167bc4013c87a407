import { smsJobsIn, type SmsJob } from '@geo/messaging';
import { grant, type Grant } from '../rules/evaluate.ts';
import type { BudgetScope } from './budget.ts';
import type { ClaimChunk } from './claims.ts';
import type { JobBatch } from './job-batches.ts';
import type { EnginePorts } from './ports.ts';

/**
 * Engine ports held in memory, for unit tests and the engine's CPU bench: budgets counted per task,
 * carrier and day with the same `grant` rule as the KV budget (no balance: see KvBudget), a claim log that stores every
 * append, and the jobs as messaging reads them from the wire. No NATS, no concurrency between
 * writers: the integration tests cover those.
 */
export class MemoryPorts {
  readonly used = new Map<string, number>();
  readonly chunks: { subject: string; chunk: ClaimChunk }[] = [];
  readonly messages: { subject: string; msgId: string; data: Uint8Array }[] = [];
  /** Decode what was published (off for the bench, which only counts). */
  keepJobs = true;
  jobCount = 0;
  wireBytes = 0;
  time = Date.now();

  readonly ports: EnginePorts = {
    budget: {
      reserve: async (s: BudgetScope, want: number): Promise<Grant> => {
        const k = this.key(s);
        const u = this.used.get(k) ?? 0;
        const g = grant(want, s.quota, { dailyUsed: u, totalUsed: u, balance: Number.MAX_SAFE_INTEGER });
        this.used.set(k, (this.used.get(k) ?? 0) + g.granted);
        return g;
      },
      release: async (s: BudgetScope, n: number) => {
        this.used.set(this.key(s), (this.used.get(this.key(s)) ?? 0) - n);
      },
      peek: async (s: BudgetScope) => {
        const u = this.used.get(this.key(s)) ?? 0;
        return { dailyUsed: u, totalUsed: u, balance: Number.MAX_SAFE_INTEGER };
      },
    },
    claims: {
      append: async (subject: string, chunk: ClaimChunk) => {
        // Stored as the log stores it: its JSON.
        const json = JSON.stringify(chunk);
        this.wireBytes += json.length;
        this.chunks.push({ subject, chunk: JSON.parse(json) as ClaimChunk });
        return { ok: true, others: [] };
      },
      list: (taskId: string) => this.list(taskId),
    },
    publish: async (b: JobBatch) => {
      this.jobCount += b.msisdns.length;
      this.wireBytes += b.data.length;
      if (this.keepJobs) this.messages.push({ subject: `sms.jobs.${b.carrier}`, msgId: b.msgId, data: b.data });
    },
    now: () => this.time,
    instance: 'memory',
  };

  private key(s: BudgetScope): string {
    return `${s.taskId}:${s.carrier}:${s.day}`;
  }

  private async *list(taskId: string): AsyncGenerator<{ chunk: ClaimChunk }> {
    for (const c of this.chunks) if (c.subject.startsWith(`alert.claims.${taskId}.`)) yield { chunk: c.chunk };
  }

  /** Every job published, as messaging decodes it. */
  jobs(): SmsJob[] {
    return this.messages.flatMap((m) => smsJobsIn(JSON.parse(Buffer.from(m.data).toString('utf8'))) ?? []);
  }
}
