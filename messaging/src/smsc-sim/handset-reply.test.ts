import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCheckInAnswer } from '../replies/checkin-answer.ts';
import { newCounters, SubmitRules } from './behaviour.ts';
import { checkInCodes, handsetReply } from './handset-reply.ts';
import { DEFAULT_BEHAVIOUR } from './simulated-smsc.ts';

const OTHER = ['收到', '好的，谢谢', '已知悉', 'TD'];
/** A deterministic stand-in for Math.random: the values given, in turn, again and again. */
const seq = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};
/** A small seeded generator (mulberry32), so the share test is the same on every run. */
function seeded(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the simulated handset’s reply', () => {
  it.each([
    ['【应急管理局】洪水预警：请注意安全。回复1表示安全，回复2表示需要帮助。', ['1', '2']],
    ['[EMA] Flood warning. Reply 1 if safe, 2 if you need help.', ['1', '2']],
    ['Typhoon. Reply 1 if safe, 2 if you need help, 3 for option 3', ['1', '2', '3']],
    ['回复A表示已撤离，回复B表示被困', ['A', 'B']],
    ['【翼讯通】您的验证码是 123456，5 分钟内有效。', []],
    ['Your parcel 1 is here. Reply TD to unsubscribe', []],
  ])('reads the answers a check-in offers in %s', (text, codes) => expect(checkInCodes(text)).toEqual(codes));

  it('answers a check-in with its first option mostly, another option some of the time, and other text now and then', () => {
    const text = '洪水预警。回复1表示安全，回复2表示需要帮助。';
    const random = seeded(23);
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const r = handsetReply(text, OTHER, random);
      const key = parseCheckInAnswer(r, [
        { code: '1', label: '安全' },
        { code: '2', label: '需要帮助' },
      ]);
      counts.set(key ?? 'unrecognised', (counts.get(key ?? 'unrecognised') ?? 0) + 1);
    }
    expect(counts.get('1')!).toBeGreaterThan(counts.get('2')!);
    expect(counts.get('2')!).toBeGreaterThan(100);
    expect(counts.get('unrecognised')!).toBeGreaterThan(100);
    expect(counts.get('1')! + counts.get('2')!).toBeGreaterThan(1000);
  });

  it('answers an English check-in with a bare code', () => {
    expect(handsetReply('Reply 1 if safe, 2 if you need help.', OTHER, seq(0, 0))).toBe('1');
    expect(handsetReply('Reply 1 if safe, 2 if you need help.', OTHER, seq(0, 0.95, 0))).toBe('2');
  });

  it('answers any other message with one of the configured texts', () => {
    const seen = new Set(Array.from({ length: 50 }, (_, i) => handsetReply('【翼讯通】会议通知：明天 9 点。', OTHER, seq(i / 50))));
    expect([...seen].every((t) => OTHER.includes(t))).toBe(true);
    expect(seen.size).toBe(OTHER.length);
  });
});

describe('every simulated gateway’s MO text (SubmitRules.moText)', () => {
  const rules = new SubmitRules({ ...DEFAULT_BEHAVIOUR, moTexts: OTHER }, newCounters(), () => undefined);
  afterEach(() => vi.restoreAllMocks());

  it('answers the message it replies to: a check-in gets a code, not random text', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(rules.moText({ text: '【应急管理局】洪水预警。回复1表示安全，回复2表示需要帮助。' })).toBe('1');
    expect(rules.moText({ text: '【翼讯通】会议通知：明天 9 点。' })).toBe('收到');
  });
});
