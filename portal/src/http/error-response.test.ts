import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { AppError, ERRORS, type ErrorCode } from '../errors.ts';
import { toErrorResponse } from './error-response.ts';

/** An app whose one route throws what it is given, answered by the portal's one error handler. */
function throwing(err: unknown, counted: ErrorCode[] = []) {
  const app = new Hono();
  app.onError((e, c) => toErrorResponse(c, e, { log: { error: () => undefined }, count: (code) => counted.push(code) }));
  app.get('/', () => {
    throw err;
  });
  return app;
}

describe('toErrorResponse: one table, one handler', () => {
  it.each(Object.entries(ERRORS) as [ErrorCode, readonly [number, string]][])(
    '%s answers its status and message',
    async (code, [status, message]) => {
      const counted: ErrorCode[] = [];
      const res = await throwing(new AppError(code), counted).request('/');
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ error: { code, message } });
      expect(counted).toEqual([code]);
    },
  );

  // The codes that lived in a second table (api/industry/errors.ts) keep their statuses and words.
  it.each([
    ['RECIPIENTS_REJECTED', 400],
    ['INSUFFICIENT_BALANCE', 409],
    ['RATE_LIMITED', 429],
    ['PHONE_TAKEN', 409],
    ['UPLOAD_TOO_MANY_ROWS', 413],
    ['IMPORT_NOT_FOUND', 404],
  ] as const)('%s (once an industry code) is still %i', async (code, status) => {
    const res = await throwing(new AppError(code, '具体原因', { n: 1 })).request('/');
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: '具体原因', details: { n: 1 } } });
  });

  it('a body hono could not parse is BAD_JSON; anything else is INTERNAL, its cause logged and not shown', async () => {
    expect(await (await throwing(new HTTPException(400)).request('/')).json()).toMatchObject({ error: { code: 'BAD_JSON' } });
    const logged: unknown[] = [];
    const app = new Hono();
    app.onError((e, c) => toErrorResponse(c, e, { log: { error: (obj: unknown) => void logged.push(obj) } }));
    app.get('/', () => {
      throw new Error('secret detail');
    });
    const res = await app.request('/');
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).not.toContain('secret detail');
    expect(logged).toHaveLength(1);
  });

  it('a body of a media type the route does not take (hono’s 415, e.g. JSON sent to an upload) is a 415 with a Chinese message, not INTERNAL', async () => {
    const res = await throwing(new HTTPException(415, { message: 'Unsupported Media Type' })).request('/');
    expect(res.status).toBe(415);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(body.error.message).toMatch(/格式|multipart|JSON/);
  });

  it('a too-large body hono raises is a 413 with a readable message; other hono 4xx a 400 with one; a 5xx it raises stays INTERNAL', async () => {
    const r413 = await throwing(new HTTPException(413)).request('/');
    expect(r413.status).toBe(413);
    expect(((await r413.json()) as { error: { message: string } }).error.message.trim()).not.toBe('');
    const r405 = await throwing(new HTTPException(405)).request('/');
    expect(r405.status).toBe(400);
    expect(((await r405.json()) as { error: { message: string } }).error.message.trim()).not.toBe('');
    expect((await throwing(new HTTPException(503)).request('/')).status).toBe(500);
  });
});
