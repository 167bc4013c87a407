import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Carrier } from '@geo/ingest';
import type { CarrierQuota } from '../contract.ts';
import { grant, type Grant } from '../rules/evaluate.ts';

/** Another writer changed the key first (wrong last sequence). */
const isConflict = (err: unknown) => err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164);

/** What a reservation is for. */
export interface BudgetScope {
  taskId: string;
  accountId: string;
  carrier: Carrier;
  /** Asia/Shanghai day, YYYYMMDD. */
  day: string;
  quota: CarrierQuota;
  /**
   * Unused: the account's balance is the portal's ledger, which took the task's totals when the
   * task was submitted; the task's totals are what alerting enforces. Kept so callers compile.
   * @deprecated
   */
  initialBalance?: number;
}

/**
 * Task budgets shared by every alerting instance, in the `alert_caps` KV bucket:
 * `used.<task>.<carrier>.<day>` and `used.<task>.<carrier>.total` count sends. Every change is a
 * compare-and-swap on the key's revision (exactly one writer wins), so caps and totals are never
 * exceeded by any number of instances. Budgets are reserved before the dedup claim and released
 * when a send does not happen; a crash between the two leaks the reservation (fewer sends, never
 * more).
 *
 * There is no account balance here (invariant 9: one ledger). The portal's ledger took each task's
 * per-carrier totals (times the billing units of one message) from the account when the task was
 * submitted, so enforcing the totals keeps the account within its balance, and the emergency path
 * does not need the portal at send time. When the task ends the portal reads the `total` counters
 * ({@link KvBudget.usedTotals}) and gives back what was not sent.
 */
export class KvBudget {
  /** Last seen value and revision per key: the common case (one writer) needs no read before the swap. */
  private readonly cache = new Map<string, { value: number; revision: number }>();

  constructor(private readonly kv: KV) {}

  static keys(s: Pick<BudgetScope, 'taskId' | 'carrier' | 'day'>) {
    return { daily: `used.${s.taskId}.${s.carrier}.${s.day}`, total: `used.${s.taskId}.${s.carrier}.total` };
  }

  private async read(key: string, initial: number): Promise<{ value: number; revision: number }> {
    const e = await this.kv.get(key);
    if (e && e.operation === 'PUT') return { value: Number(e.string()), revision: e.revision };
    try {
      const revision = e ? await this.kv.update(key, String(initial), e.revision) : await this.kv.create(key, String(initial));
      return { value: initial, revision };
    } catch (err) {
      if (!isConflict(err)) throw err;
      return this.read(key, initial);
    }
  }

  /** One CAS per key at a time in this instance: concurrent local writers would only make each other retry. */
  private readonly locks = new Map<string, Promise<unknown>>();

  private cas(key: string, initial: number, f: (v: number) => number | undefined): Promise<{ before: number; after: number }> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.casNow(key, initial, f));
    const settled = next.catch(() => undefined);
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return next;
  }

  /** Applies `f` to a counter with compare-and-swap; `f` returns the new value or undefined for "no change". */
  private async casNow(key: string, initial: number, f: (v: number) => number | undefined): Promise<{ before: number; after: number }> {
    let cur = this.cache.get(key) ?? (await this.read(key, initial));
    for (let attempt = 0; ; attempt++) {
      const next = f(cur.value);
      if (next === undefined || next === cur.value) {
        this.cache.set(key, cur);
        return { before: cur.value, after: cur.value };
      }
      try {
        const revision = await this.kv.update(key, String(next), cur.revision);
        this.cache.set(key, { value: next, revision });
        return { before: cur.value, after: next };
      } catch (err) {
        // Only a lost race is retried; a timeout fails the reservation at once (the batch is redelivered),
        // instead of holding this key's queue for minutes.
        if (!isConflict(err) || attempt > 1000) throw err;
        cur = await this.read(key, initial);
      }
    }
  }

  /** Current counters (for progress and reach estimates); `balance` is unlimited here (see the class). */
  async peek(s: BudgetScope): Promise<{ dailyUsed: number; totalUsed: number; balance: number }> {
    const k = KvBudget.keys(s);
    const [dailyUsed, totalUsed] = await Promise.all([this.value(k.daily), this.value(k.total)]);
    return { dailyUsed, totalUsed, balance: Number.MAX_SAFE_INTEGER };
  }

  private async value(key: string): Promise<number> {
    const e = await this.kv.get(key);
    return e && e.operation === 'PUT' ? Number(e.string()) : 0;
  }

  /**
   * What a task has sent (reserved and not released) per carrier over its whole life: what the
   * portal's ledger charges it when it ends.
   */
  async usedTotals(taskId: string, carriers: readonly Carrier[]): Promise<Partial<Record<Carrier, number>>> {
    const out: Partial<Record<Carrier, number>> = {};
    for (const carrier of carriers) out[carrier] = await this.value(KvBudget.keys({ taskId, carrier, day: '' }).total);
    return out;
  }

  /**
   * Reserves up to `want` sends: daily cap, then task total, each by CAS.
   * Returns how many were granted and why the rest were not.
   */
  async reserve(s: BudgetScope, want: number): Promise<Grant> {
    const k = KvBudget.keys(s);
    const d = await this.cas(k.daily, 0, (v) => v + Math.max(0, Math.min(want, s.quota.dailyCap - v)));
    const g1 = d.after - d.before;
    const t = g1 > 0 ? await this.cas(k.total, 0, (v) => v + Math.max(0, Math.min(g1, s.quota.total - v))) : { before: 0, after: 0 };
    const g2 = t.after - t.before;
    if (g1 > g2) await this.cas(k.daily, 0, (v) => v - (g1 - g2));
    // The same arithmetic as the pure `grant`, so the reasons are named identically.
    const reasons = grant(want, s.quota, {
      dailyUsed: s.quota.dailyCap - g1,
      totalUsed: s.quota.total - g2,
      balance: Number.MAX_SAFE_INTEGER,
    });
    return { granted: g2, skipped: reasons.skipped };
  }

  /** Gives back `n` reserved sends that were not made (already sent elsewhere, task stopped). */
  async release(s: BudgetScope, n: number): Promise<void> {
    if (n <= 0) return;
    const k = KvBudget.keys(s);
    await this.cas(k.daily, 0, (v) => v - n);
    await this.cas(k.total, 0, (v) => v - n);
  }
}
