import { randomBytes } from 'node:crypto';
import type { Queryable } from '@geo/infra';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { SecretBox } from './secrets.ts';
import { sha256 } from './session.ts';

/** The name an authenticator app shows above the code. */
export const TOTP_ISSUER = '翼讯通';
const PERIOD_S = 30;
/** One step either side of now: a phone clock up to ~30 s off still works (RFC 6238 §5.2). */
const WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;

const totpOf = (secret: string, label: string) =>
  new TOTP({ issuer: TOTP_ISSUER, label, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret: Secret.fromBase32(secret) });

/** A new random secret (160 bits, RFC 4226's recommendation), base32. */
export const newTotpSecret = (): string => new Secret({ size: 20 }).base32;

/** What an enrolment shows: the secret to type in, its otpauth:// URI and that URI as a QR code (SVG data URL, made here, offline). */
export async function enrolment(secret: string, label: string): Promise<{ secret: string; otpauthUrl: string; qrDataUrl: string }> {
  const otpauthUrl = totpOf(secret, label).toString();
  const svg = await QRCode.toString(otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secret, otpauthUrl, qrDataUrl: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}

/** The 30-second step a code belongs to, or undefined when it matches none near now. */
export function totpStep(secret: string, code: string, now = Date.now()): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totpOf(secret, '').validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? undefined : Math.floor(now / 1000 / PERIOD_S) + delta;
}

/** The current code, for tests and for the demo operator's documented secret. */
export const totpNow = (secret: string, now = Date.now()): string => totpOf(secret, '').generate({ timestamp: now });

/**
 * Accepts a TOTP code of the account's confirmed secret once: a code whose step is not after the
 * last accepted one is refused (a code seen over someone's shoulder cannot be replayed).
 */
export async function useTotp(db: Queryable, box: SecretBox, accountId: string, code: string): Promise<boolean> {
  const { rows } = await db.query<{ totp_secret: string | null; totp_last_step: string | null }>(
    'SELECT totp_secret, totp_last_step FROM accounts WHERE id = $1',
    [accountId],
  );
  const r = rows[0];
  if (!r?.totp_secret) return false;
  const step = totpStep(box.open(r.totp_secret, accountId), code);
  if (step === undefined || (r.totp_last_step !== null && step <= Number(r.totp_last_step))) return false;
  const upd = await db.query('UPDATE accounts SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)', [
    accountId,
    step,
  ]);
  return upd.rowCount > 0;
}

const normalizeCode = (code: string) => code.trim().toLowerCase().replace(/[\s-]/g, '');

/** New one-time recovery codes (replacing any old ones); only their hashes are kept. */
export async function newRecoveryCodes(db: Queryable, accountId: string): Promise<string[]> {
  // 15 hex digits: 60 random bits, beyond guessing through a throttled login.
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const s = randomBytes(8).toString('hex').slice(0, 15);
    return `${s.slice(0, 5)}-${s.slice(5, 10)}-${s.slice(10)}`;
  });
  await db.query('DELETE FROM recovery_codes WHERE account_id = $1', [accountId]);
  for (const c of codes)
    await db.query('INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)', [accountId, sha256(normalizeCode(c))]);
  return codes;
}

/** Uses up one recovery code; false when it is unknown or already used. */
export async function useRecoveryCode(db: Queryable, accountId: string, code: string): Promise<boolean> {
  const { rows } = await db.query(
    'UPDATE recovery_codes SET used_at = now() WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING 1',
    [accountId, sha256(normalizeCode(code))],
  );
  return rows.length === 1;
}

/** A second factor given at login or to change TOTP settings: a current TOTP code or an unused recovery code. */
export async function useSecondFactor(db: Queryable, box: SecretBox, accountId: string, code: string): Promise<boolean> {
  const c = code.trim();
  return /^\d{6}$/.test(c) ? useTotp(db, box, accountId, c) : useRecoveryCode(db, accountId, c);
}

export async function recoveryCodesLeft(db: Queryable, accountId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL',
    [accountId],
  );
  return Number(rows[0]!.n);
}
