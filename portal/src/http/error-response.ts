import type { Logger } from '@geo/infra';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AppError, errorBody, type ErrorCode } from '../errors.ts';

/**
 * Any thrown value as the failure the client is told: an AppError as it is; hono's 400 (a body it
 * could not parse) as BAD_JSON; anything else INTERNAL, whose cause is logged and never shown.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException && err.status === 400) return new AppError('BAD_JSON');
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
