import { isIP } from 'node:net';
import { z } from 'zod';
import { clickhouseUrl, commaList, commonEnv, databaseUrl, port } from '@geo/infra';
import type { SecretsConfig } from './auth/secrets.ts';

const jsonRecord = (what: string) =>
  z
    .string()
    .default('{}')
    .transform((s, ctx) => {
      try {
        const v = JSON.parse(s) as unknown;
        const r = z.record(z.string(), z.url()).safeParse(v);
        if (r.success) return r.data;
      } catch {
        // fall through to the issue below
      }
      ctx.addIssue({ code: 'custom', message: `expected a JSON object of ${what} → http URL` });
      return z.NEVER;
    });

/** The portal's environment, read once in main.ts. */
export const PortalEnv = z.object({
  ...commonEnv,
  PORT: port(8080),
  CLICKHOUSE_URL: clickhouseUrl.default('http://127.0.0.1:8123'),
  DATABASE_URL: databaseUrl.optional(),
  PGLITE_DIR: z.string().min(1).default('.data/pglite'),
  /** The offline map's folder (tiles from `npm run map:import`); default `map/` beside the PGlite folder. */
  MAP_DIR: z.string().min(1).optional(),
  /** service name → base URL whose `/healthz` answers `{service, ok, uptimeS, checks}`. */
  SERVICE_URLS: jsonRecord('service name'),
  /** `{"nats": "<monitor url>", "clickhouse": "<http url>"}`. */
  SERVER_URLS: jsonRecord('server name'),
  INSIGHT_URL: z.url().optional(),
  TRUSTED_PROXIES: commaList().refine(
    (list) => list.every((x) => isIP(x.split('/')[0]!) !== 0),
    '须为逗号分隔的 IP 地址或 CIDR，例如 127.0.0.1,10.0.0.0/8',
  ),
  /**
   * Origins of a deployment's own map server (style, tiles, glyphs, sprites), comma-separated: the
   * browser may fetch from them (the security policy's connect-src and img-src); none by default.
   */
  MAP_ORIGINS: commaList().refine(
    (list) => list.every((x) => /^https?:\/\/[^/\s;,'"]+$/.test(x)),
    '须为逗号分隔的 http(s) 源地址（协议、主机与端口，不带路径），例如 https://tiles.example.cn,http://10.0.0.5:8081',
  ),
  OPERATOR_TOTP: z.enum(['required', 'optional']).optional(),
  /** The key that seals TOTP secrets at rest: 32 bytes, hex or base64 (see README "Secrets at rest"). */
  SECRETS_KEY: z.string().min(1).optional(),
  /** Reach and heat-map figures about fewer people than this are withheld (invariant 7). */
  PRIVACY_K: z.coerce
    .number({ error: 'PRIVACY_K 须为整数' })
    .int('PRIVACY_K 须为整数')
    .min(2, 'PRIVACY_K 至少为 2')
    .max(1000, 'PRIVACY_K 最大 1000')
    .default(10),
  DEMO: z
    .enum(['0', '1', 'true', 'false', ''])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
});
export type PortalEnv = z.infer<typeof PortalEnv>;

/** What `createPortal` needs; tests build it directly. */
export interface PortalConfig extends SecretsConfig {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  clickhouseUrl?: string;
  /** NATS for sends (SMS_JOBS), replies and the big-data console; without it sends stay queued. */
  natsUrl?: string;
  /** PostgreSQL server; when absent, PGlite in `pgliteDir` (`memory://` for tests). */
  databaseUrl?: string;
  pgliteDir?: string;
  /** Where the offline map's tiles are. @default `<PGlite dir>/../map`, else `<repo>/.data/map` (api/map/map-dir.ts) */
  mapDir?: string;
  serviceUrls?: Record<string, string>;
  serverUrls?: { nats?: string; clickhouse?: string } & Record<string, string>;
  insightUrl?: string;
  demo?: boolean;
  logLevel?: string;
  /**
   * Test-only: the captcha endpoint also returns its answer. Never set from the environment.
   * @default false
   */
  captchaTestMode?: boolean;
  /**
   * scrypt cost as log2(N). Production keeps the default; tests may lower it to stay quick.
   * @default 17
   */
  scryptLogN?: number;
  /**
   * Test-only: trust every `X-Forwarded-For` hop. Never set from the environment.
   * @default false
   */
  trustProxy?: boolean;
  /**
   * Our reverse proxies (IPs or CIDR ranges, env `TRUSTED_PROXIES`, comma-separated): only when
   * the socket peer is one of them are `X-Forwarded-For` (client address, for throttling and logs)
   * and `X-Forwarded-Proto` (TLS, for the `Secure` cookie) believed.
   * @default [] (nobody: the peer is the client)
   */
  trustedProxies?: string[];
  /**
   * Whether platform operators must log in with a TOTP second factor (an operator without one is
   * taken through enrolment at its next login). Env `OPERATOR_TOTP`.
   * @default 'required', but 'optional' when `demo` is on and nothing is set
   */
  operatorTotp?: 'required' | 'optional';
  /** How often an open event stream (SSE) re-checks that its session or key is still live. @default 5000 */
  streamRecheckMs?: number;
  /** messaging's send-log table in ClickHouse. @default 'sms_log' */
  smsLogTable?: string;
  /** Where the built SPA is; @default portal/web/dist */
  webDist?: string;
  /**
   * Privacy threshold k (env `PRIVACY_K`): the big-data reach estimate and reached heat map count
   * each (cell, carrier) of fewer than k people as 0 and show totals under k as "< k".
   * @default 10
   */
  privacyK?: number;
  /**
   * Origins of the deployment's own map server (env `MAP_ORIGINS`), allowed by the security policy
   * for fetches and images; a style URL elsewhere is refused by the browser.
   * @default []
   */
  mapOrigins?: string[];
}

export function envToConfig(env: PortalEnv): PortalConfig {
  return {
    port: env.PORT,
    clickhouseUrl: env.CLICKHOUSE_URL,
    natsUrl: env.NATS_URL,
    databaseUrl: env.DATABASE_URL,
    pgliteDir: env.PGLITE_DIR,
    mapDir: env.MAP_DIR,
    serviceUrls: env.SERVICE_URLS,
    serverUrls: env.SERVER_URLS,
    insightUrl: env.INSIGHT_URL,
    demo: env.DEMO,
    trustedProxies: env.TRUSTED_PROXIES,
    operatorTotp: env.OPERATOR_TOTP,
    logLevel: env.LOG_LEVEL,
    privacyK: env.PRIVACY_K,
    mapOrigins: env.MAP_ORIGINS,
    secretsKey: env.SECRETS_KEY,
  };
}
