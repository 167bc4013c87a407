import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { ZodType } from 'zod';
import { AppError } from '../errors.ts';
import type { AppEnv } from './context.ts';

// Validation messages people read are in Chinese; field-specific ones are written in the schemas.
z.config(z.locales.zhCN());

/** Turns zod issues into one readable message and a list of `{ path, message }`. */
export function validationError(error: z.ZodError): AppError {
  const details = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const message = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('；');
  return new AppError('VALIDATION', `请求参数有误：${message}`, details);
}

/** A router whose request validation failures become `VALIDATION` errors. */
export function router(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error as z.ZodError);
    },
  });
}

export const jsonBody = <T extends ZodType>(schema: T) => ({
  body: { required: true, content: { 'application/json': { schema } } },
});

export const jsonOk = <T extends ZodType>(schema: T, description = '成功') => ({
  200: { description, content: { 'application/json': { schema } } },
});

export const Ok = z.object({ ok: z.literal(true).openapi({ description: '操作成功时为 true' }) }).openapi('Ok');
export const IdParam = z.object({ id: z.string().min(1).max(64) });
export const Paging = z.object({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});
/** Optional ISO date-time or date bounds for log searches. */
export const DateRange = z.object({
  from: z.string().datetime({ offset: true }).or(z.string().date()).optional(),
  to: z.string().datetime({ offset: true }).or(z.string().date()).optional(),
});

export { z };
