import { Hono } from 'hono';
import type { z } from 'zod';
import type { Logger } from '@geo/infra';
import { RegionError } from '../regions/region.ts';
import { regionMetrics, type MetricsContext } from '../metrics/region-metrics.ts';
import type { HeatmapIndex } from '../metrics/heatmap.ts';
import { drainingBodyLimit } from './body-limit.ts';
import { HeatmapQuery, RegionMetricsRequest, type ApiError } from './schemas.ts';

export interface ApiContext extends MetricsContext {
  heat: HeatmapIndex;
  /** Where an unexpected failure (a 500) is logged with its cause. */
  log?: Logger;
  /** The clock (tests replace it). */
  now?: () => number;
}

class BadRequest extends Error {
  override name = 'BadRequest';
  constructor(
    readonly code: string,
    message: string,
    readonly issues?: string[],
  ) {
    super(message);
  }
}

const issuesOf = (e: z.ZodError) => e.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);

/**
 * The insight query API the portal calls. Every count in a response obeys the k-anonymity
 * threshold (`{ value: null, suppressed: true }` below k); no subscriber identifier is returned.
 *
 * - `POST /regions/metrics` — body `RegionMetricsRequest` → `RegionMetrics`.
 *   `curl -XPOST :9204/regions/metrics -d '{"region":{"areas":["330106"]}}'`
 * - `GET /heatmap?bbox=west,south,east,north&zoom=12` → `Heatmap` (live population per H3 cell).
 * - Errors: 400 `{ error: { code, message, issues? } }` naming each bad field; 500 otherwise.
 */
export function insightApi(ctx: ApiContext): Hono {
  const now = ctx.now ?? Date.now;
  const app = new Hono();

  // A region is a few shapes of at most 10,000 vertices each: 4 MB is plenty, and refusing more before
  // reading it keeps one absurd request from holding the event loop for everyone else.
  const limit = drainingBodyLimit({
    maxSize: 4 * 1024 * 1024,
    tooLarge: (c) =>
      c.json<ApiError>(
        { error: { code: 'TOO_LARGE', message: 'the request body is over 4 MB; a region may have at most 10,000 vertices per shape' } },
        413,
      ),
  });
  app.post('/regions/metrics', limit, async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new BadRequest('INVALID_JSON', 'the request body is not valid JSON');
    }
    const r = RegionMetricsRequest.safeParse(body);
    if (!r.success) throw new BadRequest('INVALID_REQUEST', 'the request does not match RegionMetricsRequest', issuesOf(r.error));
    const at = r.data.at === undefined ? now() : typeof r.data.at === 'number' ? r.data.at : Date.parse(r.data.at);
    return c.json(await regionMetrics(ctx, r.data.region, at, r.data.top, r.data.hysteresis));
  });

  app.get('/heatmap', (c) => {
    const r = HeatmapQuery.safeParse(c.req.query());
    if (!r.success) throw new BadRequest('INVALID_QUERY', 'expected ?bbox=west,south,east,north&zoom=0..22', issuesOf(r.error));
    return c.json(ctx.heat.heatmap(r.data.bbox, r.data.zoom, now()));
  });

  app.notFound((c) =>
    c.json<ApiError>(
      { error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}: try POST /regions/metrics or GET /heatmap` } },
      404,
    ),
  );

  app.onError((err, c) => {
    // A refused query is logged with its reason (at warn: the caller's mistake, not ours), so a
    // probe of the API leaves a trace (issue 17).
    if (err instanceof BadRequest || err instanceof RegionError)
      ctx.log?.warn({ method: c.req.method, path: c.req.path, code: err.code, reason: err.message }, 'query refused');
    if (err instanceof BadRequest) return c.json<ApiError>({ error: { code: err.code, message: err.message, issues: err.issues } }, 400);
    if (err instanceof RegionError) return c.json<ApiError>({ error: { code: err.code, message: err.message } }, 400);
    ctx.log?.error({ err, method: c.req.method, path: c.req.path }, 'query failed');
    return c.json<ApiError>({ error: { code: 'INTERNAL', message: 'the query failed; see the insight log' } }, 500);
  });
  return app;
}
