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
  };
}

export type Ctx = Context<AppEnv>;

/** The caller, or 401. */
export function principal(c: Ctx): Principal {
  const p = c.get('principal');
  if (!p) throw new AppError('UNAUTHENTICATED');
  return p;
}

/** The caller's enterprise; operators (no enterprise) get 403. */
export function tenant(c: Ctx): { p: Principal; enterpriseId: string } {
  const p = principal(c);
  if (!p.enterpriseId) throw new AppError('FORBIDDEN', '平台运营账户不属于任何集团，不能使用此功能');
  return { p, enterpriseId: p.enterpriseId };
}

/** The caller's enterprise, when the caller holds `feature`. */
export function need(c: Ctx, feature: Feature): { p: Principal; enterpriseId: string } {
  const t = tenant(c);
  if (!t.p.permissions.has(feature)) throw new AppError('FORBIDDEN');
  return t;
}

export function needOperator(c: Ctx): Principal {
  const p = principal(c);
  if (p.role !== 'operator') throw new AppError('FORBIDDEN', '仅平台运营人员可以执行此操作');
  return p;
}

export const iso = (d: Date | string | null | undefined): string | null =>
  d == null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString();
