import type { MiddlewareHandler } from 'hono';
import type { Feature } from '../auth/permissions.ts';
import { AppError } from '../errors.ts';
import { principal, type AppEnv, type Ctx, type Principal } from './context.ts';

/** The caller's enterprise; operators (no enterprise) get 403. */
function tenant(c: Ctx): { p: Principal; enterpriseId: string } {
  const p = principal(c);
  if (!p.enterpriseId) throw new AppError('FORBIDDEN', '平台运营账户不属于任何集团，不能使用此功能');
  return { p, enterpriseId: p.enterpriseId };
}

/**
 * The one place a route's permission is named. Route middleware
 * (`createRoute({ middleware: [requires('accounts')] })`): @hono/zod-openapi runs a route's middleware
 * before its validators, so a caller without the right gets 403 before the body is read, and learns
 * nothing of what the route takes (a 400 listing the missing fields told a sub-account without the
 * permission the shape of routes it may not call). The middleware stores what it let through; the
 * handler reads it with `caller(c)` / `operator(c)` (context.ts), which name no feature, so a handler
 * cannot check a different permission than its route declares.
 *
 * With several features the caller needs any one of them (reading the templates: 短信模板 or 发短信).
 */
export const requires =
  (...anyOf: [Feature, ...Feature[]]): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const { p, enterpriseId } = tenant(c);
    if (!anyOf.some((f) => p.permissions.has(f))) throw new AppError('FORBIDDEN');
    c.set('access', { kind: 'enterprise', p, enterpriseId, features: anyOf });
    await next();
  };

/**
 * `requires(...)` for an enterprise's accounts, or the platform operator, who reads across
 * enterprises (the operation and login logs). The handler tells them apart by `principal(c).role`.
 */
export const requiresOrOperator =
  (...anyOf: [Feature, ...Feature[]]): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const p = principal(c);
    if (p.role !== 'operator') return requires(...anyOf)(c, next);
    c.set('access', { kind: 'operator', p });
    await next();
  };

/** The same for the platform operator's routes. */
export const operatorOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  const p = principal(c);
  if (p.role !== 'operator') throw new AppError('FORBIDDEN', '仅平台运营人员可以执行此操作');
  c.set('access', { kind: 'operator', p });
  await next();
};

/** The same for routes every account of an enterprise may call (feedback): operators and strangers are refused first. */
export const inEnterprise: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { p, enterpriseId } = tenant(c);
  c.set('access', { kind: 'enterprise', p, enterpriseId, features: [] });
  await next();
};
