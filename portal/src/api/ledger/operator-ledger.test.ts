import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { loginAdmin, loginOperator, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';
import { unbalanced } from './ledger.ts';

describe('the operator tops up through the ledger', () => {
  let portal: Portal;
  let op: Client;
  let admin: Client;
  beforeAll(async () => {
    portal = await testPortal();
    op = await loginOperator(portal);
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('adds a top-up as an entry (a delta, so a charge at the same moment is kept), and takes away never below zero', async () => {
    const before = (await admin.req('GET', '/api/home/quota')).body.enterpriseQuota as number;
    const [top, send] = await Promise.all([
      op.req('POST', '/api/operator/enterprises/demo-enterprise/top-up', { amount: 500 }),
      admin.req('POST', '/api/industry/sends', { recipients: '13800138000 13900139000', content: '充值时的发送' }),
    ]);
    expect(top.status).toBe(200);
    expect(send.status).toBe(200);
    expect((await admin.req('GET', '/api/home/quota')).body.enterpriseQuota).toBe(before + 500 - 2);
    const over = await op.req('POST', '/api/operator/enterprises/demo-enterprise/top-up', { amount: -(before + 1000) });
    expect(over.status).toBe(409);
    expect(over.body.error.message).toMatch(/余额不足以扣减/);
    const ledger = await op.req('GET', '/api/operator/enterprises/demo-enterprise/ledger?pageSize=5');
    expect(ledger.body.items.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['topup', 'charge']));
    expect(await unbalanced(portal.deps.db, 'demo-enterprise')).toEqual([]);
    // Only operators.
    expect((await admin.req('POST', '/api/operator/enterprises/demo-enterprise/top-up', { amount: 5 })).status).toBe(403);
    expect((await op.req('POST', '/api/operator/enterprises/nope/top-up', { amount: 5 })).status).toBe(404);
    expect((await op.req('POST', '/api/operator/enterprises/demo-enterprise/top-up', { amount: 0 })).status).toBe(400);
  });
});
