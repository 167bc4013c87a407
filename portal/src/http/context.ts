import type { ClickHouseClient, Db, HealthCheck, Logger } from '@geo/infra';
import type { Context } from 'hono';
import type { PortalConfig } from '../config.ts';
import type { Feature, Role } from '../auth/permissions.ts';
import type { SecretBox } from '../auth/secrets.ts';
import { AppError } from '../errors.ts';

/** Who is calling: a logged-in person (session cookie) or an enterprise system (API key). */
export interface Principal {
  accountId: string;
  name: string;
  enterpriseId: string | null;
  departmentId: string | null;
  role: Role;
  permissions: ReadonlySet<Feature>;
  via: 'session' | 'apikey';
  sessionHash?: string;
  /** The API key's id, when `via` is 'apikey'. */
  apiKeyId?: string;
  csrfToken?: string;
}

export interface Deps {
  db: Db;
  cfg: PortalConfig;
  log: Logger;
  ch: ClickHouseClient | undefined;
  /** NATS connection health, once the portal has tried to connect. */
  natsState?: HealthCheck;
  /** Seals and opens stored secrets (TOTP); set by createPortal once the key opened what is stored. */
  secrets?: SecretBox;
}

export interface AppEnv {
  Variables: {
    deps: Deps;
    ip: string;
    /** Reached over TLS, directly or through a trusted proxy (X-Forwarded-Proto). */
    tls: boolean;
    principal: Principal | undefined;
    /** Set once a handler wrote its own operation-log entry. */
    opLogged: boolean;
    /** What the route's access middleware (`route-access.ts`) let through; handlers read it with `caller()` / `operator()`. */
    access: Access | undefined;
  };
}

/**
 * The access a route declared and its caller passed: an enterprise's account holding one of `features`
 * (none for routes open to every account of an enterprise), or the platform operator.
 */
export type Access =
  { kind: 'enterprise'; p: Principal; enterpriseId: string; features: readonly Feature[] } | { kind: 'operator'; p: Principal };

export type Ctx = Context<AppEnv>;

/** The caller, or 401. */
export function principal(c: Ctx): Principal {
  const p = c.get('principal');
  if (!p) throw new AppError('UNAUTHENTICATED');
  return p;
}

/** A handler reading access its route never declared is a bug in the route, not the caller's fault. */
class UndeclaredAccess extends Error {
  override name = 'UndeclaredAccess';
}

/**
 * The caller and its enterprise, as the route's `requires(…)` or `inEnterprise` middleware let them
 * through. It names no feature: the permission a route checks is the one it declares.
 * @example
 * createRoute({ method: 'get', path: '/api/x', middleware: [requires('contacts')], … }),
 * async (c) => { const { p, enterpriseId } = caller(c); … }
 */
export function caller(c: Ctx): { p: Principal; enterpriseId: string } {
  const a = c.get('access');
  if (a?.kind !== 'enterprise') throw new UndeclaredAccess(`${c.req.method} ${c.req.path}: no requires() / inEnterprise middleware`);
  return { p: a.p, enterpriseId: a.enterpriseId };
}

/**
 * For a route that declares several features (`requires('contacts', 'sms.send')`) and learns from the
 * request which one applies (an import job's kind): the caller, when it holds `feature`; 403 otherwise.
 * `feature` must be one the route declared.
 */
export function callerHolding(c: Ctx, feature: Feature): { p: Principal; enterpriseId: string } {
  const a = c.get('access');
  if (a?.kind !== 'enterprise' || !a.features.includes(feature))
    throw new UndeclaredAccess(`${c.req.method} ${c.req.path}: ${feature} is not among the route's requires()`);
  if (!a.p.permissions.has(feature)) throw new AppError('FORBIDDEN');
  return { p: a.p, enterpriseId: a.enterpriseId };
}

/** The platform operator, as the route's `operatorOnly` middleware let them through. */
export function operator(c: Ctx): Principal {
  const a = c.get('access');
  if (a?.kind !== 'operator') throw new UndeclaredAccess(`${c.req.method} ${c.req.path}: no operatorOnly middleware`);
  return a.p;
}

export const iso = (d: Date | string | null | undefined): string | null =>
  d == null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString();
