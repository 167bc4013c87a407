import type { Logger } from '@geo/infra';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AppError, errorBody, type ErrorCode } from '../errors.ts';

/** hono's own client errors (raised before a handler runs) as the portal's codes, with Chinese words. */
const HONO_CLIENT_ERRORS: Partial<Record<number, () => AppError>> = {
  400: () => new AppError('BAD_JSON'),
  // A route's body schema names its media type: JSON sent to an upload, or a form to a JSON route.
  415: () => new AppError('UNSUPPORTED_MEDIA_TYPE', '请求内容的格式不是此接口接受的格式（请按接口说明使用 JSON 或 multipart/form-data）'),
  413: () => new AppError('UPLOAD_TOO_LARGE', '请求内容过大'),
};

/**
 * Any thrown value as the failure the client is told: an AppError as it is; hono's client errors
 * (a body it could not parse, a media type the route does not take, one too large) as the matching
 * code; anything else INTERNAL, whose cause is logged and never shown.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    const known = HONO_CLIENT_ERRORS[err.status];
    if (known) return known();
    if (err.status >= 400 && err.status < 500) return new AppError('VALIDATION', '请求无法处理，请检查请求内容');
  }
  return new AppError('INTERNAL');
}

export interface ErrorResponseOptions {
  /** Where an INTERNAL answer's cause goes. @default console.error (test harnesses) */
  log?: Pick<Logger, 'error'>;
  /** Counts each answer by code (the portal's metrics). */
  count?: (code: ErrorCode) => void;
}

/**
 * The portal's one error handler: `{ error: { code, message, details? } }` with the code's status
 * from `ERRORS`. The app and every test harness mount it the same way.
 * @example app.onError((err, c) => toErrorResponse(c, err, { log: deps.log }))
 */
export function toErrorResponse(c: Context, err: unknown, opts: ErrorResponseOptions = {}): Response {
  const e = toAppError(err);
  if (e.code === 'INTERNAL') {
    if (opts.log) opts.log.error({ err, path: c.req.path }, 'unhandled error');
    else console.error(err);
  }
  opts.count?.(e.code);
  return c.json(errorBody(e), e.status);
}
