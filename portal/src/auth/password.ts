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

/** A password is strong enough at 8+ characters with letters and digits (ASVS asks for length first). */
export function isStrongPassword(pw: string): boolean {
  return pw.length >= 8 && pw.length <= 128 && /[A-Za-z]/.test(pw) && /\d/.test(pw);
}

/** A hash of a random password, for comparing against when the account does not exist (same timing). */
export const DUMMY_HASH_INPUT = 'no-such-account-0';
