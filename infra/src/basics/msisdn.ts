/**
 * A mainland mobile number as stored everywhere: 11 digits, 1 then 3–9, no country code.
 * @example MSISDN.test('13800138000') // true
 */
export const MSISDN = /^1[3-9]\d{9}$/;

/**
 * A mainland mobile number as people type it: optionally with +86 or 0086 in front; the 11-digit
 * number is the first group.
 * @example '+8613800138000'.match(MAINLAND_MOBILE)?.[1] // '13800138000'
 */
export const MAINLAND_MOBILE = /^(?:\+86|0086)?(1[3-9]\d{9})$/;

/** The stored form of a number as typed (country code dropped), or undefined if it is not a mainland mobile number. */
export function normalizeMsisdn(typed: string): string | undefined {
  return MAINLAND_MOBILE.exec(typed.trim())?.[1];
}
