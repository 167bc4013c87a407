import type { MiddlewareHandler } from 'hono';
import type { Feature } from '../auth/permissions.ts';
import { need, needOperator, tenant, type AppEnv } from './context.ts';

/**
 * Route middleware (`createRoute({ middleware: [requires('accounts')] })`): @hono/zod-openapi runs a
 * route's middleware before its validators, so a caller without the right gets 403 before the body is
 * read, and learns nothing of what the route takes (a 400 listing the missing fields told a sub-account
 * without the permission the shape of routes it may not call). Handlers keep their own `need()`, which
 * also hands them the caller and enterprise.
 */
export const requires =
  (feature: Feature): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    need(c, feature);
    await next();
  };

/** The same for the platform operator's routes. */
export const operatorOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  needOperator(c);
  await next();
};

/** The same for routes every account of an enterprise may call (feedback): operators and strangers are refused first. */
export const inEnterprise: MiddlewareHandler<AppEnv> = async (c, next) => {
  tenant(c);
  await next();
};
