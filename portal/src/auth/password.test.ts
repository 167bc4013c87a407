import { describe, expect, it } from 'vitest';
import { hashPassword, isStrongPassword, verifyPassword } from './password.ts';

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

  it.each([
    ['short1', false],
    ['onlyletters', false],
    ['12345678', false],
    ['letters123', true],
  ])('judges %s strong=%s', (pw, ok) => expect(isStrongPassword(pw)).toBe(ok));
});
