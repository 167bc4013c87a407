import { z } from 'zod';
import { MAX_HYSTERESIS_BUFFER_M, MAX_HYSTERESIS_OUTSIDE_S } from '@geo/infra/basics';
import { Region } from '../regions/region.ts';
import { Count } from '../metrics/privacy.ts';

export { Region, Shape } from '../regions/region.ts';
export { Count } from '../metrics/privacy.ts';

export const AGE_BANDS = ['<18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+', 'unknown'] as const;
export const DWELL_BUCKETS = ['<30m', '30-60m', '1-2h', '2-4h', '4-8h', '>8h'] as const;
export const GENDERS = ['m', 'f', 'unknown'] as const;

/** `POST /regions/metrics` body. */
export const RegionMetricsRequest = z.object({
  region: Region,
  /** Evaluate "now" at this time (ISO 8601 or epoch ms); defaults to the server's clock. For replays and tests. */
  at: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).optional(),
  /** How many home provinces / cities to list. @default 10 */
  top: z.number().int().min(1).max(50).default(10),
  /**
   * Edge hysteresis for inflow / outflow, as alerting applies it to a task's entries: someone
   * jittering across the edge has left only after being more than `bufferMeters` outside the region
   * for `minOutsideSeconds` on end, and only then does a return count as inflow again. Applies to
   * `flow`, the day series' inflow / outflow (so they add up to `flow` as without it) and `dwell`
   * (a step out near the edge, or a short one, keeps the first entry time). Absent, or both 0: every
   * move across the edge counts. The week series still counts every move across the edge.
   * @example { "bufferMeters": 500, "minOutsideSeconds": 600 }
   */
  hysteresis: z
    .object({
      bufferMeters: z.number().min(0).max(MAX_HYSTERESIS_BUFFER_M).optional(),
      minOutsideSeconds: z.number().int().min(0).max(MAX_HYSTERESIS_OUTSIDE_S).optional(),
    })
    .optional(),
});
export type RegionMetricsRequest = z.input<typeof RegionMetricsRequest>;

const Group = z.object({ code: z.string(), count: Count });
const SeriesPoint = z.object({ t: z.string(), population: Count, inflow: Count, outflow: Count });

/** `POST /regions/metrics` response. Every count obeys the k-anonymity threshold. */
export const RegionMetrics = z.object({
  at: z.string(),
  k: z.number().int(),
  stalenessMinutes: z.number(),
  /** Known serving cells inside the region. */
  cells: z.number().int(),
  population: z.object({ total: Count, byCarrier: z.object({ cmcc: Count, cucc: Count, ctcc: Count }) }),
  /** Highest population over the last 7 days at 5-minute resolution (snapshots, and now). */
  weeklyMax: z.object({ count: Count, at: z.string().nullable() }),
  flow: z.object({
    lastHour: z.object({ inflow: Count, outflow: Count }),
    sinceMidnight: z.object({ since: z.string(), inflow: Count, outflow: Count }),
  }),
  origin: z.object({
    provinces: z.array(Group),
    otherProvinces: Count,
    cities: z.array(Group),
    otherCities: Count,
    unknownHome: Count,
    local: Count,
    roaming: Count,
    unknownLocality: Count,
  }),
  dwell: z.array(z.object({ bucket: z.enum(DWELL_BUCKETS), count: Count })),
  portrait: z.object({
    gender: z.array(z.object({ gender: z.enum(GENDERS), count: Count })),
    age: z.array(z.object({ band: z.enum(AGE_BANDS), count: Count })),
    genderByAge: z.array(z.object({ gender: z.enum(GENDERS), band: z.enum(AGE_BANDS), count: Count })),
  }),
  series: z.object({
    /** Last 24 h at 5 minutes: population at each boundary, distinct people in/out during the bucket. */
    day: z.array(SeriesPoint),
    /** Last 7 days hourly: the hour's highest 5-minute population, distinct people in/out during the hour. */
    week: z.array(SeriesPoint),
  }),
});
export type RegionMetrics = z.infer<typeof RegionMetrics>;

/** `GET /heatmap` query: `bbox=west,south,east,north&zoom=12` (web-map zoom 0–22). */
export const HeatmapQuery = z.object({
  bbox: z.string().transform((s, ctx) => {
    const p = s.split(',').map(Number);
    if (p.length !== 4 || p.some((x) => !Number.isFinite(x))) {
      ctx.addIssue({ code: 'custom', message: 'bbox must be four numbers: west,south,east,north' });
      return z.NEVER;
    }
    const [w, so, e, n] = p as [number, number, number, number];
    if (w < -180 || e > 180 || so < -90 || n > 90 || w >= e || so >= n) {
      ctx.addIssue({ code: 'custom', message: 'bbox must be west,south,east,north in degrees with west < east and south < north' });
      return z.NEVER;
    }
    return [w, so, e, n] as [number, number, number, number];
  }),
  zoom: z.coerce.number().min(0).max(22),
});
export type HeatmapQuery = z.input<typeof HeatmapQuery>;

export const Heatmap = z.object({
  at: z.string(),
  k: z.number().int(),
  /** The H3 resolution chosen for the zoom. */
  resolution: z.number().int(),
  cells: z.array(z.object({ h3: z.string(), count: Count })),
});
export type Heatmap = z.infer<typeof Heatmap>;

/** Error body of every 400/404/500. */
export const ApiError = z.object({ error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.string()).optional() }) });
export type ApiError = z.infer<typeof ApiError>;
