import type { Region as AlertRegion } from '@geo/alerting';
import { Heatmap, RegionMetrics, type RegionMetricsRequest } from '@geo/insight';
import { withActiveBoundaries } from '../bigdata/geography.ts';

type InsightRegion = RegionMetricsRequest['region'];

/**
 * The console's regions are alerting's (the task contract); insight takes areas + shapes. A
 * polyline's buffer is per side in alerting, the full width in insight.
 */
export function toInsightRegion(r: Pick<AlertRegion, 'parts'>): InsightRegion {
  const areas: string[] = [];
  const shapes: NonNullable<InsightRegion['shapes']> = [];
  for (const p of r.parts) {
    switch (p.kind) {
      case 'admin': {
        // An area whose boundary the portal wrote in (an operator's file, withActiveBoundaries) goes
        // as that shape: insight's own geography knows only the shipped boundaries.
        const g = (p as { geometry?: { type: string; coordinates: unknown } }).geometry;
        if (g?.type === 'Polygon') shapes.push({ type: 'polygon', coordinates: g.coordinates as [number, number][][] });
        else if (g?.type === 'MultiPolygon') shapes.push({ type: 'multipolygon', coordinates: g.coordinates as [number, number][][][] });
        else areas.push(p.code);
        break;
      }
      case 'polygon':
        shapes.push({ type: 'polygon', coordinates: p.rings });
        break;
      case 'multipolygon':
        shapes.push({ type: 'multipolygon', coordinates: p.polygons });
        break;
      case 'rectangle':
        shapes.push({ type: 'rectangle', bbox: [p.west, p.south, p.east, p.north] });
        break;
      case 'circle':
        shapes.push({ type: 'circle', center: p.center, radiusM: p.radiusM });
        break;
      case 'polyline':
        shapes.push({ type: 'polyline', coordinates: p.path, widthM: p.bufferM * 2 });
        break;
    }
  }
  return { areas, shapes };
}

/** Insight's answer was not a success: its status and `{ error: { code, message, issues } }`. */
export class InsightError extends Error {
  override name = 'InsightError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: string[],
  ) {
    super(message);
  }
}

/** A thin client of insight's query API (`INSIGHT_URL`), validating its answers with insight's schemas. */
export class InsightClient {
  constructor(
    private readonly base: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private async call(path: string, init?: RequestInit): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new InsightError(503, 'UNREACHABLE', `insight is not reachable: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => undefined)) as { error?: { code: string; message: string; issues?: string[] } } | undefined;
    if (!res.ok)
      throw new InsightError(res.status, body?.error?.code ?? 'HTTP', body?.error?.message ?? `HTTP ${res.status}`, body?.error?.issues);
    return body;
  }

  async metrics(region: Pick<AlertRegion, 'parts'>, top = 10, hysteresis?: RegionMetricsRequest['hysteresis']) {
    return RegionMetrics.parse(
      await this.call('/regions/metrics', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          // The operator's loaded boundaries in, any geometry the request brought for a named area out.
          region: toInsightRegion(withActiveBoundaries({ parts: region.parts }).region),
          top,
          ...(hysteresis ? { hysteresis } : {}),
        }),
      }),
    );
  }

  async heatmap(bbox: [number, number, number, number], zoom: number) {
    return Heatmap.parse(await this.call(`/heatmap?bbox=${bbox.join(',')}&zoom=${zoom}`));
  }
}
