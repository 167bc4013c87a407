/**
 * Asia/Shanghai has been UTC+8 without daylight saving since 1991, so a fixed offset is exact and
 * far cheaper on the hot path than Intl.
 */
export const SHANGHAI_OFFSET_MS = 8 * 3600_000;

/** The Asia/Shanghai calendar date of an instant, `YYYY-MM-DD`. */
export function shanghaiDate(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** The Asia/Shanghai day as `YYYYMMDD`, used in dedup and daily-cap keys. */
export function shanghaiDay(ms: number): string {
  return shanghaiDate(ms).replace(/-/g, '');
}

/** Minutes since Asia/Shanghai midnight. */
export function shanghaiMinuteOfDay(ms: number): number {
  const local = ms + SHANGHAI_OFFSET_MS;
  return Math.floor((((local % 86_400_000) + 86_400_000) % 86_400_000) / 60_000);
}

/** The instant at which an Asia/Shanghai date (`YYYY-MM-DD`) begins. */
export function shanghaiMidnight(date: string): number {
  return Date.parse(`${date}T00:00:00+08:00`);
}
