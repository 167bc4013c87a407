import { randomInt, randomUUID } from 'node:crypto';
import type { Queryable } from '@geo/infra';
import { captchaSvg } from './captcha-image.ts';

/*
 * What the image captcha is for, and what it is not (issue 17; SECURITY.md, "The image captcha is not
 * a security control"): each login attempt costs a second request and a fresh server-side token, one
 * try per image, so casual form-fillers and naive scripts stay out of the login log. It does not stop
 * a determined bot (OCR reads many of these images), and a wrong captcha counts against nobody. The
 * protection against guessing is the per-account slow-down and the per-address limit
 * (`throttle.ts`), the password policy (`password.ts`) and the second factor (`totp.ts`).
 */

const CAPTCHA_TTL_S = 300;
/** Letters and digits that stay distinct when distorted and compared case-insensitively. */
const CAPTCHA_CHARS = 'abdefghjmnqrtyABDEFGHJMNQRTY2345679';

/**
 * A new image captcha; the answer stays on the server, keyed by the returned id. Letters whose
 * upper and lower case look alike once distorted (c, k, p, s, u, v, w, x, z) are left out, with
 * the usual 0/o/O, 1/i/I/l/L; the answer is case-insensitive anyway.
 */
export async function newCaptcha(db: Queryable): Promise<{ id: string; svg: string; answer: string }> {
  const c = { text: Array.from({ length: 4 }, () => CAPTCHA_CHARS[randomInt(0, CAPTCHA_CHARS.length)]).join('') };
  // Drawn as pixels: svg-captcha's SVG paths were the font's outlines, read by a script.
  const svg = captchaSvg(c.text);
  const id = randomUUID();
  // Opportunistic clean-up keeps the table small without a timer.
  await db.query('DELETE FROM captchas WHERE expires_at < now()');
  await db.query(`INSERT INTO captchas (id, answer, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`, [
    id,
    c.text.toLowerCase(),
    CAPTCHA_TTL_S,
  ]);
  return { id, svg, answer: c.text };
}

/** Checks an answer (case-insensitive) and consumes the captcha either way: one try per image. */
export async function solveCaptcha(db: Queryable, id: string, answer: string): Promise<boolean> {
  const { rows } = await db.query<{ answer: string }>('DELETE FROM captchas WHERE id = $1 AND expires_at > now() RETURNING answer', [id]);
  return rows.length === 1 && rows[0]!.answer === answer.trim().toLowerCase();
}
