import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectNats, ensureKv, type NatsConnection } from '@geo/infra';
import type { KV } from '@nats-io/kv';
import { KvBudget, type BudgetScope } from './budget.ts';

let nc: NatsConnection;
let kv: KV;
const run = `b${Date.now().toString(36)}`;
let n = 0;
const scope = (over: Partial<BudgetScope> = {}): BudgetScope => ({
  taskId: `${run}-${n++}`,
  accountId: `acct-${run}`,
  carrier: 'cmcc',
  day: '20260101',
  quota: { total: 50, dailyCap: 30 },
  initialBalance: 0,
  ...over,
});

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'alerting-budget');
  kv = await ensureKv(nc, `alert_caps_budget_${process.pid}`, {});
});
afterAll(async () => {
  await nc?.drain();
});

describe('task budgets in the caps bucket (one ledger: the balance is the portal’s)', () => {
  it('grants up to the daily cap and the task total whatever balance the spec carried, and keeps no account balance', async () => {
    const budget = new KvBudget(kv);
    const s = scope();
    expect(await budget.reserve(s, 40)).toEqual({ granted: 30, skipped: { daily_cap: 10 } });
    const next = { ...s, day: '20260102' };
    expect(await budget.reserve(next, 40)).toEqual({ granted: 20, skipped: { daily_cap: 10, total_cap: 10 } });
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    expect(keys.filter((k) => k.startsWith('balance.'))).toEqual([]);
  });

  it('reports what a task sent over its life per carrier, releases included, for the ledger to charge', async () => {
    const budget = new KvBudget(kv);
    const s = scope();
    await budget.reserve(s, 25);
    await budget.reserve({ ...s, carrier: 'ctcc' }, 4);
    await budget.release(s, 5);
    expect(await budget.usedTotals(s.taskId, ['cmcc', 'cucc', 'ctcc'])).toEqual({ cmcc: 20, cucc: 0, ctcc: 4 });
  });

  it('never grants more than the total to two budgets (two instances) racing on one task', async () => {
    const [a, b] = [new KvBudget(kv), new KvBudget(kv)];
    const s = scope({ quota: { total: 37, dailyCap: 100 } });
    const grants = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).reserve(s, 3)));
    expect(grants.reduce((t, g) => t + g.granted, 0)).toBe(37);
  });
});
