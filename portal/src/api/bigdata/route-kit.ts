import type { ZodType, z } from 'zod';
import { AppError } from '../../errors.ts';
import { drainingBodyLimit } from '../../http/body-limit.ts';
import type { Ctx } from '../../http/context.ts';
import { validationError } from '../../http/openapi.ts';
import { BusUnavailable, TaskStateError } from './alert-bus.ts';
import type { FieldIssue } from './task-form.ts';

/** Parses with a schema; failures become the portal's VALIDATION error with `{ path, message }` per field. */
export function parse<S extends ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error as never);
  return r.data;
}

/**
 * The largest JSON body the console's and insight's routes read: a draft's form may hold 2,000,000
 * characters, and a drawn region of 10,000 vertices at full double precision is about 0.45 MB.
 */
export const MAX_JSON_BODY_BYTES = 2 * 1024 * 1024;

/**
 * Route middleware (`createRoute({ middleware: [jsonBodyLimit] })`, which runs before the body's
 * validation reads it): a larger body is refused with 413, counted as it streams in when the
 * client sends no Content-Length, before it is parsed, and read to its end first so that a slow
 * uploader gets the 413 and its message, not a connection reset. The code stays UPLOAD_TOO_LARGE
 * (codes never change; the message says what was too large).
 */
export const jsonBodyLimit = drainingBodyLimit({
  maxSize: MAX_JSON_BODY_BYTES,
  tooLarge: () =>
    new AppError(
      'UPLOAD_TOO_LARGE',
      `请求内容过大（上限 ${MAX_JSON_BODY_BYTES / 1048576} MB）：请简化绘制的区域（减少顶点）或分成多个任务`,
    ),
});

export async function jsonBody(c: Ctx): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new AppError('BAD_JSON');
  }
}

/** Field problems found beyond the schema, in the same shape as schema failures. */
export function fieldErrors(issues: FieldIssue[]): AppError {
  return new AppError('VALIDATION', `请求参数有误：${issues.map((i) => `${i.path}: ${i.message}`).join('；')}`, issues);
}

export const STATE_LABELS: Record<string, string> = {
  draft: '草稿',
  submitted: '已提交',
  scheduled: '待执行',
  running: '执行中',
  paused: '已暂停',
  stopped: '已停止',
  completed: '已完成',
  rejected: '已驳回',
  pending_approval: '待审批',
};

/** Fails the request with one of the portal's codes; the portal's error handler answers and counts it. */
export function consoleError(_c: Ctx, code: 'TASK_STATE' | 'BUS_UNAVAILABLE' | 'INSIGHT_UNAVAILABLE', message?: string): never {
  throw new AppError(code, message);
}

/**
 * A handler for `.openapi(route, …)`. The console's answers are documented in `schemas.ts`; the
 * route's inferred response types are not imposed on handlers that also stream, send files or
 * throw the portal's errors.
 */
export const handle = (fn: (c: Ctx) => Response | Promise<Response>): never => fn as never;

/** Maps the bus's failures to answers; everything else goes to the portal's error handler. */
export function guarded(fn: (c: Ctx) => Promise<Response>): never {
  return handle(async (c: Ctx): Promise<Response> => {
    try {
      return await fn(c);
    } catch (err) {
      if (err instanceof TaskStateError) {
        const msg =
          err.from === 'missing'
            ? '预警服务中找不到该任务'
            : `任务${STATE_LABELS[err.from] ?? err.from}，不能改为${STATE_LABELS[err.to] ?? err.to}`;
        return consoleError(c, 'TASK_STATE', msg);
      }
      if (err instanceof BusUnavailable) {
        c.get('deps').log.warn({ err: err.message }, 'alert bus unavailable');
        return consoleError(c, 'BUS_UNAVAILABLE');
      }
      throw err;
    }
  });
}
