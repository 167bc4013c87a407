import { secureHeaders } from 'hono/secure-headers';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { accountRoutes } from './api/accounts/routes.ts';
import { profileRoutes } from './api/accounts/profile-routes.ts';
import { apiKeyRoutes } from './api/api-keys/routes.ts';
import { authRoutes } from './api/auth/routes.ts';
import { totpRoutes } from './api/auth/totp-routes.ts';
import { departmentRoutes } from './api/departments/routes.ts';
import { enterpriseRoutes } from './api/enterprises/routes.ts';
import { BIGDATA_ROUTES } from './api/bigdata/index.ts';
import { industryRoutes } from './api/industry/index.ts';
import { importJobsAcrossInstances } from './api/industry/index.ts';
import { INSIGHT_ROUTES } from './api/insight/index.ts';
import { feedbackRoutes } from './api/feedback/routes.ts';
import { homeRoutes } from './api/home/routes.ts';
import { messageRoutes } from './api/messages/routes.ts';
import { reviewRoutes } from './api/review/routes.ts';
import { settingsRoutes } from './api/settings/routes.ts';
import { signatureRoutes } from './api/signatures/routes.ts';
import { v1Routes } from './api/v1/routes.ts';
import { statusRoutes } from './api/status/routes.ts';
import { limitRoutes } from './api/ledger/limit-routes.ts';
import { mapRoutes } from './api/map/routes.ts';
import { checkInRoutes } from './api/bigdata/checkins/index.ts';
import { boundaryRoutes } from './api/bigdata/boundaries/routes.ts';
import { AppError, errorBody } from './errors.ts';
import type { Deps } from './http/context.ts';
import { toErrorResponse } from './http/error-response.ts';
import { requestContext } from './http/middleware.ts';
import { requestGuard } from './http/request-guard.ts';
import { router } from './http/openapi.ts';
import { serveSpa } from './http/static.ts';

export const API_ROUTES = [
  statusRoutes,
  authRoutes,
  totpRoutes,
  homeRoutes,
  accountRoutes,
  profileRoutes,
  departmentRoutes,
  signatureRoutes,
  reviewRoutes,
  enterpriseRoutes,
  settingsRoutes,
  messageRoutes,
  feedbackRoutes,
  apiKeyRoutes,
  v1Routes,
  ...industryRoutes,
  ...BIGDATA_ROUTES,
  ...INSIGHT_ROUTES,
  limitRoutes,
  mapRoutes,
  boundaryRoutes,
  checkInRoutes,
];

/** The portal's HTTP application: API under /api, health and metrics, and the SPA for everything else. */
export function buildApp(deps: Deps, webDist: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'portal' });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'portal_http_requests_total',
    help: 'API requests by method and status',
    labelNames: ['method', 'status'],
    registers: [registry],
  });
  const errors = new Counter({ name: 'portal_api_errors_total', help: 'API errors by code', labelNames: ['code'], registers: [registry] });
  const started = Date.now();

  const app = router();
  app.onError((err, c) => toErrorResponse(c, err, { log: deps.log, count: (code) => errors.inc({ code }) }));
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        // A deployment's own map server (MAP_ORIGINS) serves the style, tiles and glyphs the map fetches.
        connectSrc: ["'self'", ...(deps.cfg.mapOrigins ?? [])],
        imgSrc: ["'self'", 'data:', 'blob:', ...(deps.cfg.mapOrigins ?? [])],
        styleSrc: ["'self'", "'unsafe-inline'"],
        workerSrc: ["'self'", 'blob:'],
        // No framing (clickjacking), no <base> pointing elsewhere, forms post only to us (ASVS 14.4).
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
      },
    }),
  );
  app.use('/api/*', async (c, next) => {
    await next();
    requests.inc({ method: c.req.method, status: String(c.res.status) });
    // API answers carry personal data: no browser or proxy keeps them (ASVS 8.2.1), unless a route says otherwise.
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });
  app.use('*', requestContext(deps));
  app.use('/api/*', requestGuard());

  app.get('/healthz', async (c) => {
    let pg: { ok: boolean; detail?: string };
    try {
      await deps.db.query('SELECT 1');
      pg = { ok: true, detail: deps.db.kind };
    } catch (err) {
      pg = { ok: false, detail: (err as Error).message };
    }
    const checks: Record<string, { ok: boolean; detail?: string }> = { postgres: pg };
    if (deps.cfg.natsUrl) checks.nats = deps.natsState ? await deps.natsState() : { ok: false, detail: 'not connected' };
    const ok = Object.values(checks).every((x) => x.ok);
    return c.json({ service: 'portal', ok, uptimeS: Math.round((Date.now() - started) / 1000), checks }, ok ? 200 : 503);
  });
  app.get('/metrics', async (c) => c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }));

  // Import jobs answered by any portal instance (#19): read from the database when another one runs them.
  app.use('/api/industry/*', importJobsAcrossInstances());
  for (const r of API_ROUTES) app.route('/', r);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: '接口密钥：gk_…' });
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: '翼讯通短信平台 API',
      version: '1.0.0',
      description: '浏览器使用会话 Cookie + X-CSRF-Token 请求头；企业系统使用 Authorization: Bearer <接口密钥>。',
    },
  });
  app.all('/api/*', (c) => c.json(errorBody(new AppError('NOT_FOUND', `没有这个接口：${c.req.method} ${c.req.path}`)), 404));
  app.get('*', serveSpa(webDist));
  return { app, registry };
}
