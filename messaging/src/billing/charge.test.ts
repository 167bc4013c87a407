import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chargeFor, checkBalance } from './charge.ts';

describe('chargeFor', () => {
  it('charges segments × recipients, signature included', () => {
    expect(chargeFor({ signature: '气象台', content: '明日有暴雨', recipients: 1000 })).toEqual({
      ok: true,
      segments: 1000,
      perRecipient: 1,
      messages: 1000,
    });
    expect(chargeFor({ signature: '气象台', content: '中'.repeat(66), recipients: 10 })).toMatchObject({
      ok: true,
      segments: 20,
      perRecipient: 2,
    });
  });

  it('charges a mail-merge send per message', () => {
    expect(chargeFor({ signature: 'A', contents: ['短', '中'.repeat(100)] })).toEqual({ ok: true, segments: 1 + 2, messages: 2 });
  });

  it('refuses a send with no recipients or a text that cannot go, naming the message', () => {
    expect(chargeFor({ signature: 'A', content: 'x', recipients: 0 })).toMatchObject({ ok: false, code: 'NO_RECIPIENTS' });
    expect(chargeFor({ signature: 'A', contents: ['ok', ' '] })).toMatchObject({
      ok: false,
      code: 'EMPTY',
      index: 1,
      reason: expect.stringContaining('第 2 条'),
    });
  });
});

describe('checkBalance', () => {
  it('refuses a send that would overdraw the account or the enterprise', () => {
    expect(checkBalance({ account: 10, enterprise: 100 }, 11)).toMatchObject({ ok: false, code: 'ACCOUNT_BALANCE', short: 1 });
    expect(checkBalance({ account: 100, enterprise: 10 }, 11)).toMatchObject({ ok: false, code: 'ENTERPRISE_BALANCE', short: 1 });
    expect(checkBalance({ account: 11, enterprise: 11 }, 11)).toEqual({ ok: true, after: { account: 0, enterprise: 0 } });
  });

  it('never leaves a negative balance', () => {
    fc.assert(
      fc.property(fc.nat(1e6), fc.nat(1e6), fc.nat(1e6), (a, e, s) => {
        const r = checkBalance({ account: a, enterprise: e }, s);
        if (r.ok) expect(Math.min(r.after.account, r.after.enterprise)).toBeGreaterThanOrEqual(0);
        else expect(s > a || s > e).toBe(true);
      }),
    );
  });
});
