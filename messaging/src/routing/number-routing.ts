import { carrierOfMsisdn, UNSERVED_PREFIXES } from '@geo/infra/basics';
import type { SmsCarrier } from '../contract.ts';

/** A mainland mobile number, after removing spaces and dashes (DESIGN.md). */
export const MAINLAND_MOBILE = /^(\+86|0086)?1[3-9]\d{9}$/;

export type RouteRefusalCode = 'INVALID_NUMBER' | 'UNKNOWN_PREFIX' | 'UNSERVED_CARRIER';

export type Route =
  { ok: true; msisdn: string; carrier: SmsCarrier } | { ok: false; input: string; code: RouteRefusalCode; reason: string };

/** Strips spaces and dashes and the +86 / 0086 country code; returns the 11 digits or undefined. */
export function normalizeMsisdn(input: string): string | undefined {
  const s = input.replace(/[\s-]/g, '');
  if (!MAINLAND_MOBILE.test(s)) return undefined;
  return s.slice(-11);
}

/**
 * Routes a number to its carrier by its segment (号段), or refuses it with a reason.
 *
 * @example
 * routeNumber('+86 138-0013-8000') // { ok: true, msisdn: '13800138000', carrier: 'cmcc' }
 */
export function routeNumber(input: string): Route {
  const msisdn = normalizeMsisdn(input);
  if (!msisdn) return { ok: false, input, code: 'INVALID_NUMBER', reason: `不是有效的大陆手机号码：${input}` };
  const carrier = carrierOfMsisdn(msisdn);
  if (carrier) return { ok: true, msisdn, carrier };
  const unserved = UNSERVED_PREFIXES[msisdn.slice(0, 3)];
  if (unserved) return { ok: false, input, code: 'UNSERVED_CARRIER', reason: unserved };
  return { ok: false, input, code: 'UNKNOWN_PREFIX', reason: `号段 ${msisdn.slice(0, 3)} 未分配给任何运营商：${input}` };
}
