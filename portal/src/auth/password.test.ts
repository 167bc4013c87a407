import { describe, expect, it } from 'vitest';
import { DEMO_CREDENTIALS } from '../demo/credentials.ts';
import { hashPassword, isStrongPassword, passwordProblem, verifyPassword } from './password.ts';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one at the production cost (N=2^17)', async () => {
    const h = await hashPassword('Correct-horse-1');
    expect(h).toMatch(/^scrypt\$17\$8\$1\$/);
    expect(await verifyPassword('Correct-horse-1', h)).toBe(true);
    expect(await verifyPassword('Correct-horse-2', h)).toBe(false);
    // 128 MiB and a few hundred ms per hash alone; much longer when the cores are shared.
  }, 120_000);

  it('salts each hash, so one password gives two different strings', async () => {
    const [a, b] = await Promise.all([hashPassword('same-pass-1', 10), hashPassword('same-pass-1', 10)]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same-pass-1', b)).toBe(true);
  });

  it('refuses a malformed stored hash instead of throwing', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
  });

  // ASVS 6.2: length counts, not character classes; common passwords are refused.
  it.each([
    ['correct horse battery staple', true],
    ['onlyletterslong', true],
    ['Demo2024pass', true],
    ['口令也可以是中文的一句长话哦', true],
    ['password1', false],
    ['short1', false],
    ['password1234', false],
    ['PASSWORD1234', false],
    ['123456789012', false],
    ['aaaaaaaaaaaaaaaa', false],
    ['x'.repeat(129), false],
  ])('judges %s acceptable=%s', (pw, ok) => expect(isStrongPassword(pw)).toBe(ok));

  it('accepts every demo login under the policy, with its own account name', () => {
    for (const a of [DEMO_CREDENTIALS.admin, DEMO_CREDENTIALS.sub, DEMO_CREDENTIALS.operator])
      expect(passwordProblem(a.password, a.name), a.name).toBe(undefined);
  });

  it('says why a password is refused', () => {
    expect(passwordProblem('password1')).toMatch(/至少 12 位/);
    expect(passwordProblem('qwertyuiop123')).toMatch(/常见/);
    expect(passwordProblem('tea kettle on the stove')).toBe(undefined);
    expect(passwordProblem('password1234')).toMatch(/常见/);
    expect(passwordProblem('zhangsan2024', 'zhangsan')).toMatch(/账户名/);
  });
});
