/** Time units and conversions shared by the region metrics. */
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const FIVE = 5 * MIN;
/** China Standard Time has no DST: midnight is 16:00 UTC the day before. */
const SHANGHAI_OFFSET = 8 * HOUR;

export const shanghaiMidnight = (at: number): number => Math.floor((at + SHANGHAI_OFFSET) / DAY) * DAY - SHANGHAI_OFFSET;

/** Whole seconds, as ClickHouse's `DateTime` stores them. */
export const secs = (ms: number): number => Math.floor(ms / 1000);
export const iso = (ms: number): string => new Date(ms).toISOString();
