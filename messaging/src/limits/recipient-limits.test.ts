import { describe, expect, it } from 'vitest';
import type { SmsJob } from '../contract.ts';
import { DEFAULT_RECIPIENT_LIMITS, decide, exemptionOf, withJob, type RecipientHistory } from './recipient-limits.ts';

const T = 1_800_000_000_000;
const job = (over: Partial<SmsJob> = {}): SmsJob => ({
  jobId: 'j',
  source: 'industry',
  enterpriseId: 'e',
  accountId: 'a',
  sendId: 's',
  msisdn: '13800000000',
  carrier: 'cmcc',
  content: 'x',
  signature: 'y',
  createdAt: T,
  ...over,
});
const sentAt = (...ago: number[]): RecipientHistory => ({ sent: ago.map((ms, i) => [`s${i}`, T - ms]), held: [] });

describe('anti-bombing decision (defaults 1/min, 5/h, 10/day per enterprise and number)', () => {
  it.each<[string, RecipientHistory, boolean, string?]>([
    ['nothing sent yet', sentAt(), true],
    ['one sent 30 s ago', sentAt(30_000), false, 'minute'],
    ['one sent 61 s ago', sentAt(61_000), true],
    ['five in the last hour', sentAt(...[2, 10, 20, 30, 40].map((m) => m * 60_000)), false, 'hour'],
    [
      'four in the last hour, six earlier today',
      sentAt(...[2, 10, 20, 30].map((m) => m * 60_000), ...[2, 3, 4, 5, 6, 7].map((h) => h * 3_600_000)),
      false,
      'day',
    ],
    [
      'four in the last hour, five earlier today',
      sentAt(...[2, 10, 20, 30].map((m) => m * 60_000), ...[2, 3, 4, 5, 6].map((h) => h * 3_600_000)),
      true,
    ],
    ['ten, all over a day ago', sentAt(...Array.from({ length: 10 }, (_, i) => 86_400_001 + i)), true],
  ])('%s → %s', (_name, h, ok, window) => {
    const d = decide(h, 'new', T, DEFAULT_RECIPIENT_LIMITS);
    expect(d.ok).toBe(ok);
    if (!d.ok) {
      expect(d.window).toBe(window);
      expect(d.reason).toMatch(/^频率限制/);
    }
  });

  it('gives a job it has seen the same answer again (redelivery), also once the window has passed', () => {
    const h0 = withJob({ sent: [], held: [] }, 'a', T, true);
    expect(decide(h0, 'a', T + 1, DEFAULT_RECIPIENT_LIMITS)).toEqual({ ok: true, again: true });
    const h1 = withJob(h0, 'b', T + 1000, false);
    expect(decide(h1, 'b', T + 2000, DEFAULT_RECIPIENT_LIMITS)).toMatchObject({ ok: false, again: true });
    expect(decide(h1, 'b', T + 120_000, DEFAULT_RECIPIENT_LIMITS)).toMatchObject({ ok: false, again: true });
    expect(decide(h1, 'c', T + 120_000, DEFAULT_RECIPIENT_LIMITS)).toEqual({ ok: true });
  });

  it('keeps a day of history only', () => {
    const h = withJob(sentAt(86_400_001, 1000), 'n', T, true);
    expect(h.sent.map(([id]) => id)).toEqual(['s1', 'n']);
  });

  it('limits nothing in a window set to 0', () => {
    expect(decide(sentAt(1000, 2000), 'n', T, { perMinute: 0, perHour: 0, perDay: 0 })).toEqual({ ok: true });
  });
});

describe('exemptions, by rule', () => {
  it.each<[string, Partial<SmsJob>, string[] | undefined, string | undefined]>([
    ['an alert job (any type)', { source: 'alert', alertType: 'typhoon' }, undefined, 'emergency_alert'],
    ['an alert job that does not say its type', { source: 'alert' }, undefined, 'emergency_alert'],
    ['an alert job of a type the operator limits', { source: 'alert', alertType: 'drill' }, ['drill'], undefined],
    ['an alert job of another type when one is limited', { source: 'alert', alertType: 'fire' }, ['drill'], 'emergency_alert'],
    ['an industry job', { source: 'industry' }, undefined, undefined],
    ['an industry job claiming an alert type', { source: 'industry', alertType: 'typhoon' }, undefined, undefined],
    ['a reply forwarded to the enterprise’s phone', { jobId: 'fwd-abc' }, undefined, 'reply_forward'],
  ])('%s → %s', (_name, over, limited, exempt) => {
    expect(exemptionOf(job(over), { limitedAlertTypes: limited })).toBe(exempt);
  });
});
