/**
 * Asia/Shanghai has been UTC+8 without daylight saving since 1991, so a fixed offset is exact and
 * far cheaper on the hot path than Intl.
 */
export const SHANGHAI_OFFSET_MS = 8 * 3600_000;

let dayStart = 0,
  dayEnd = 0,
  dayText = '';

/** The Asia/Shanghai calendar date of an instant, `YYYY-MM-DD` (the last day is remembered: evaluation asks per person). */
export function shanghaiDate(ms: number): string {
  if (ms >= dayStart && ms < dayEnd) return dayText;
  const local = ms + SHANGHAI_OFFSET_MS;
  dayStart = local - (((local % 86_400_000) + 86_400_000) % 86_400_000) - SHANGHAI_OFFSET_MS;
  dayEnd = dayStart + 86_400_000;
  dayText = new Date(local).toISOString().slice(0, 10);
  return dayText;
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

/** An instant as Asia/Shanghai wall-clock time, `YYYY-MM-DD HH:mm:ss` (lists, exports, logs for people). */
export function shanghaiDateTime(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}
