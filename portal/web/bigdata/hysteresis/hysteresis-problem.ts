import { MAX_HYSTERESIS_BUFFER_M, MAX_HYSTERESIS_OUTSIDE_S } from '@geo/infra/basics';
import { ht } from './zh-CN.ts';

/** The limits alerting and the server hold to, in the field's units, for its own message before any submit. */
export const MAX_BUFFER_M = MAX_HYSTERESIS_BUFFER_M;
export const MAX_OUTSIDE_MIN = MAX_HYSTERESIS_OUTSIDE_S / 60;

/**
 * What is wrong with a value as typed, in the words of the server's refusal (one message), or ''.
 * @example hysteresisProblem({ bufferMeters: 6000 }) // '缓冲距离最多 5000 米'
 */
export function hysteresisProblem(v: { bufferMeters?: number; minOutsideSeconds?: number } | undefined): string {
  const b = v?.bufferMeters ?? 0;
  const minutes = (v?.minOutsideSeconds ?? 0) / 60;
  if (b < 0) return ht.bufferNegative;
  if (b > MAX_BUFFER_M) return ht.bufferTooLarge(MAX_BUFFER_M);
  if (minutes < 0) return ht.outsideNegative;
  if (minutes > MAX_OUTSIDE_MIN) return ht.outsideTooLong(MAX_OUTSIDE_MIN);
  return '';
}
