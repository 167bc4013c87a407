import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { START_TIMEOUT, testPortal } from '../../test/harness.ts';
import { chargeByLanguage } from '../bigdata/languages/sent-units.ts';
import { unbalanced } from './ledger.ts';
import { reserveTask, settleTask } from './reservations.ts';

/**
 * A task with a Chinese and an English text is reserved at the costlier language's SMS; at settlement
 * each message is charged what it cost by the send log (#21). Charging every message at the reserved
 * rate overcharged the people who got the shorter Chinese text.
 */
const ENT = 'demo-enterprise';
let portal: Portal;

beforeAll(async () => {
  portal = await testPortal();
}, START_TIMEOUT);
afterAll(async () => {
  await portal?.stop();
});

const balance = async () =>
  Number((await portal.deps.db.query<{ quota: string }>('SELECT quota FROM enterprises WHERE id = $1', [ENT])).rows[0]!.quota);
const entries = async (refId: string) =>
  (
    await portal.deps.db.query<{ kind: string; amount: string }>(
      `SELECT kind, amount FROM quota_ledger WHERE ref_id = $1 AND balance_of = 'enterprise' ORDER BY id`,
      [refId],
    )
  ).rows.map((r) => `${r.kind} ${Number(r.amount)}`);

const reserveBilingual = async (taskId: string) => {
  await portal.deps.db.transaction((tx) =>
    reserveTask(tx, {
      id: taskId,
      enterpriseId: ENT,
      accountId: 'demo-admin',
      // The task store reserves by its costliest language's text (task-store.ts): here the English one,
      // 150 characters with the 【】 signature, UCS-2 in 3 segments; its Chinese text is 1.
      spec: {
        signature: '应急',
        content: 'Typhoon warning: stay indoors, keep away from windows, follow official instructions and check on neighbours. '.padEnd(
          150,
          '.',
        ),
        quota: { cmcc: { total: 10 } },
      },
    }),
  );
  const { rows } = await portal.deps.db.query<{ per_message: number; units: string }>(
    'SELECT per_message, units FROM bigdata_reservations WHERE task_id = $1',
    [taskId],
  );
  return { perMessage: Number(rows[0]!.per_message), units: Number(rows[0]!.units) };
};

describe('settling a bilingual task by what each message cost', () => {
  it('reserves at the costlier language, and charges the logged segments: 8 Chinese SMS of 1 and 2 English of 3 cost 14, not 30', async () => {
    const taskId = `bd-lang-${process.pid}-a`;
    const before = await balance();
    const r = await reserveBilingual(taskId);
    expect(r).toEqual({ perMessage: 3, units: 30 });
    const used = chargeByLanguage(10, r.perMessage, { jobs: 10, units: 14 });
    expect(await settleTask(portal.deps.db, taskId, 10, used)).toBe(16);
    expect(await balance()).toBe(before - 14);
    expect(await entries(taskId)).toEqual(['reserve -30', 'release 16']);
    expect(await unbalanced(portal.deps.db, ENT)).toEqual([]);
  });

  it('without the send log charges the reserved rate as before, and never more than reserved or than sent at that rate', async () => {
    const a = `bd-lang-${process.pid}-b`;
    await reserveBilingual(a);
    expect(await settleTask(portal.deps.db, a, 10)).toBe(0);
    const b = `bd-lang-${process.pid}-c`;
    await reserveBilingual(b);
    // A figure above sent × rate (a log counting more than alerting sent) is held to it.
    expect(await settleTask(portal.deps.db, b, 4, 99)).toBe(18);
    expect(await entries(b)).toEqual(['reserve -30', 'release 18']);
    expect(await unbalanced(portal.deps.db, ENT)).toEqual([]);
  });
});
