import { dictionary } from '@zxcvbn-ts/language-common';
import { AppError } from '../errors.ts';
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** OWASP ASVS L2 scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB per hash). */
export const SCRYPT_LOG_N = 17;
const R = 8;
const P = 1;
const KEY_LEN = 32;

/**
 * Hashes a password with scrypt; the parameters travel in the stored string, so a later change of
 * cost still verifies old hashes.
 * @example await hashPassword('s3cret-pass') // 'scrypt$17$8$1$<salt b64>$<key b64>'
 */
export async function hashPassword(password: string, logN = SCRYPT_LOG_N): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFC'), salt, KEY_LEN, opts(logN, R, P));
  return `scrypt$${logN}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scrypt(password.normalize('NFC'), salt, expected.length, opts(logN, r, p));
  return timingSafeEqual(key, expected);
}

// Node's default maxmem (32 MiB) refuses N = 2^17, which needs 128 * N * r bytes.
const opts = (logN: number, r: number, p: number): ScryptOptions => ({ N: 2 ** logN, r, p, maxmem: 2 * 128 * 2 ** logN * r });

/** ASVS 6.2.1: at least 12 characters; 6.2.9: at least 64 allowed (we take 128, scrypt's cost does not grow with it). */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

let common: Set<string> | undefined;
/** The 49k most common passwords of @zxcvbn-ts/language-common, lower-cased; loaded on first use. */
function commonPasswords(): Set<string> {
  common ??= new Set((dictionary['passwords-common'] as string[]).map((w) => w.toLowerCase()));
  return common;
}

/**
 * Why a new password is refused, or undefined when it is acceptable. Per ASVS 6.2 it is the length
 * that counts, not character classes ("correct horse battery staple" passes); a password on the
 * common-password list, one character repeated, or the account's own name is refused.
 * @example passwordProblem('password1') // '密码至少 12 位…'
 */
export function passwordProblem(pw: string, accountName = ''): string | undefined {
  const n = [...pw.normalize('NFC')].length;
  if (n < PASSWORD_MIN) return `密码至少 ${PASSWORD_MIN} 位（可以用几个词组成的短语，例如“correct horse battery staple”）`;
  if (n > PASSWORD_MAX) return `密码最多 ${PASSWORD_MAX} 位`;
  const lower = pw.toLowerCase();
  if (commonPasswords().has(lower) || /^(.)\1*$/u.test(pw)) return '该密码过于常见，容易被猜中，请换一个';
  if (accountName && lower.includes(accountName.toLowerCase()) && lower.length - accountName.length < 6)
    return '密码不能只是账户名加几个字符';
  return undefined;
}

/** Throws WEAK_PASSWORD with the reason when the password does not meet the policy. */
export function assertPasswordPolicy(pw: string, accountName = ''): void {
  const why = passwordProblem(pw, accountName);
  if (why) throw new AppError('WEAK_PASSWORD', why);
}

/** Whether a password meets the policy. */
export const isStrongPassword = (pw: string, accountName = ''): boolean => passwordProblem(pw, accountName) === undefined;

/** A hash of a random password, for comparing against when the account does not exist (same timing). */
export const DUMMY_HASH_INPUT = 'no-such-account-0';
