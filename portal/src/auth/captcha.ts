import { randomUUID } from 'node:crypto';
import svgCaptcha from 'svg-captcha';
import type { Queryable } from '@geo/infra';

const CAPTCHA_TTL_S = 300;

/** A new image captcha; the answer stays on the server, keyed by the returned id. */
export async function newCaptcha(db: Queryable): Promise<{ id: string; svg: string; answer: string }> {
  const c = svgCaptcha.create({ size: 4, noise: 2, ignoreChars: '0oO1iIlL', color: true, background: '#f4f6fa' });
  const id = randomUUID();
  // Opportunistic clean-up keeps the table small without a timer.
  await db.query('DELETE FROM captchas WHERE expires_at < now()');
  await db.query(`INSERT INTO captchas (id, answer, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`, [
    id,
    c.text.toLowerCase(),
    CAPTCHA_TTL_S,
  ]);
  return { id, svg: c.data, answer: c.text };
}

/** Checks an answer (case-insensitive) and consumes the captcha either way: one try per image. */
export async function solveCaptcha(db: Queryable, id: string, answer: string): Promise<boolean> {
  const { rows } = await db.query<{ answer: string }>('DELETE FROM captchas WHERE id = $1 AND expires_at > now() RETURNING answer', [id]);
  return rows.length === 1 && rows[0]!.answer === answer.trim().toLowerCase();
}
