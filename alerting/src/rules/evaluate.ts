import type { Carrier } from '@geo/ingest';
import type { AlertTaskSpec, CarrierQuota, CrowdRule, SkipReason } from '../contract.ts';
import { shanghaiDate, shanghaiDay, shanghaiMinuteOfDay } from './shanghai-time.ts';

/** What evaluation knows of a person (from presence): their profile and when they entered the region. */
export interface PersonView {
  carrier: Carrier;
  gender?: 'm' | 'f';
  age?: number;
  home?: string;
  /** The city (GB/T 2260, `xxxx00`) the person's current cell lies in, when the geography knows it. */
  here?: string;
}

const hhmm = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** Inside the task's dates (inclusive, Asia/Shanghai). */
export function inDates(spec: Pick<AlertTaskSpec, 'startDate' | 'endDate'>, now: number): boolean {
  const d = shanghaiDate(now);
  return d >= spec.startDate && d <= spec.endDate;
}

/** Inside one of the day's send windows (start inclusive, end exclusive); no windows = all day. */
export function inWindows(spec: Pick<AlertTaskSpec, 'windows'>, now: number): boolean {
  if (spec.windows.length === 0) return true;
  const m = shanghaiMinuteOfDay(now);
  return spec.windows.some((w) => m >= hhmm(w.start) && m < hhmm(w.end));
}

/** Whether a six-digit home code lies in a rule's area: `440000` = province, `440300` = city, else exact. */
export function codeWithin(home: string, area: string): boolean {
  if (area.endsWith('0000')) return home.slice(0, 2) === area.slice(0, 2);
  if (area.endsWith('00')) return home.slice(0, 4) === area.slice(0, 4);
  return home === area;
}

function ruleMatches(rule: CrowdRule, p: PersonView): boolean {
  switch (rule.attribute) {
    case 'gender':
      return p.gender !== undefined && rule.values.includes(p.gender);
    case 'age':
      return p.age !== undefined && p.age >= rule.min && p.age <= rule.max;
    case 'home':
      return p.home !== undefined && rule.codes.some((c) => codeWithin(p.home!, c));
    case 'carrier':
      return rule.values.includes(p.carrier);
    case 'locality': {
      // Local = home city is where the person is now (the city of their current cell), the same for
      // drawn and picked regions; `localCodes` names the local area explicitly. Unknown home or
      // unknown whereabouts: neither local nor roaming, like any attribute not supplied.
      if (p.home === undefined) return false;
      const local = rule.localCodes
        ? rule.localCodes.some((c) => codeWithin(p.home!, c))
        : p.here === undefined
          ? undefined
          : codeWithin(p.home, p.here);
      if (local === undefined) return false;
      return rule.value === 'local' ? local : !local;
    }
  }
}

/** Keep/exclude rules: a person passes when they match every `keep` rule and no `exclude` rule. */
export function passesRules(rules: readonly CrowdRule[], p: PersonView): boolean {
  for (const r of rules) if (ruleMatches(r, p) !== (r.action === 'keep')) return false;
  return true;
}

/** Continuous dwell in the region, from the time the person last entered it. */
export function dwellReached(enteredAt: number, now: number, minDwellMin: number): boolean {
  return now - enteredAt >= minDwellMin * 60_000;
}

/** The durable dedup key of one send: per task and person, and per Asia/Shanghai day when `daily`. */
export function dedupKey(taskId: string, msisdn: string, frequency: 'once' | 'daily', now: number): string {
  return frequency === 'daily' ? `${taskId}.${msisdn}.${shanghaiDay(now)}` : `${taskId}.${msisdn}`;
}

/** The day part of a job id: set for `daily` tasks only. */
export const sendDay = (frequency: 'once' | 'daily', now: number): string | undefined =>
  frequency === 'daily' ? shanghaiDay(now) : undefined;

export type Verdict = { send: true } | { send: false; reason: SkipReason };

/**
 * Whether a person inside a running task's region should be sent now, before dedup and budgets:
 * rules, then dates and windows, then dwell. Dates outside the task count as `window`.
 *
 * @example
 * judge(spec, { carrier: 'cmcc', age: 30, home: '330100', here: '330100' }, enteredAt, Date.now()) // → { send: true }
 */
export function judge(spec: AlertTaskSpec, p: PersonView, enteredAt: number, now: number): Verdict {
  if (!spec.quota[p.carrier]) return { send: false, reason: 'no_quota' };
  if (!passesRules(spec.rules, p)) return { send: false, reason: 'rule' };
  if (!inDates(spec, now) || !inWindows(spec, now)) return { send: false, reason: 'window' };
  if (!dwellReached(enteredAt, now, spec.minDwellMin)) return { send: false, reason: 'dwell' };
  return { send: true };
}

/** Budget counters of one task and carrier at one moment. */
export interface Budget {
  dailyUsed: number;
  totalUsed: number;
  /** The account's remaining balance. */
  balance: number;
}

export interface Grant {
  granted: number;
  skipped: Partial<Record<'daily_cap' | 'total_cap' | 'balance', number>>;
}

/**
 * How many of `want` sends the budgets allow, and why the rest are held back: the daily cap is
 * applied first, then the task total, then the account balance.
 */
export function grant(want: number, quota: CarrierQuota, b: Budget): Grant {
  const skipped: Grant['skipped'] = {};
  const afterDaily = Math.max(0, Math.min(want, quota.dailyCap - b.dailyUsed));
  if (afterDaily < want) skipped.daily_cap = want - afterDaily;
  const afterTotal = Math.max(0, Math.min(afterDaily, quota.total - b.totalUsed));
  if (afterTotal < afterDaily) skipped.total_cap = afterDaily - afterTotal;
  const afterBalance = Math.max(0, Math.min(afterTotal, b.balance));
  if (afterBalance < afterTotal) skipped.balance = afterTotal - afterBalance;
  return { granted: afterBalance, skipped };
}
