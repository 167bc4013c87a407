import { composeText, segmentText } from '@geo/messaging';
import { describe, expect, it } from 'vitest';
import { smsUnits, taskCost } from '../ledger/reservations.ts';
import { costedSpec, smsOf } from './task-store.ts';

/**
 * One message's units as the ledger reserves them (#21), each language costed with the signature and
 * exercise prefix it is sent with. 【翼讯通】 is 5 characters and 【演练】 4 (UCS-2); [EMA] is 7 septets
 * and "[EXERCISE] " 13 (GSM-7). Submitted over HTTP in language-cost.int.test.ts; an exercise reserves
 * nothing there, so its per-message cost (what its balance check and its SMS count) is checked here.
 */
const quota = { cmcc: { total: 10 } };
const perMessage = (s: Record<string, unknown>) => taskCost(costedSpec({ signature: '翼讯通', quota, ...s })).perMessage;

describe('costedSpec', () => {
  it.each([
    // 【翼讯通】【演练】 + 61 = 70: one SMS; 62 = 71: two parts.
    [{ content: '台'.repeat(61) }, 1],
    [{ content: '台'.repeat(62) }, 2],
    // [EMA][EXERCISE] + 140 letters = 160 septets: one SMS; 141: two parts of 153.
    [{ content: '台风', contents: { en: 'x'.repeat(140) }, signatures: { en: 'EMA' } }, 1],
    [{ content: '台风', contents: { en: 'x'.repeat(141) }, signatures: { en: 'EMA' } }, 2],
    // Without an English signature, UCS-2: 【翼讯通】[EXERCISE] + 54 = 70 characters; 55 two.
    [{ content: '台风', contents: { en: 'x'.repeat(54) } }, 1],
    [{ content: '台风', contents: { en: 'x'.repeat(55) } }, 2],
  ])('an exercise costs as sent (%#)', (texts, units) => {
    expect(perMessage({ ...texts, exercise: true })).toBe(units);
  });

  it('costs every language as messaging submits it: the parts segmentText cuts the signed text into', () => {
    for (let n = 1; n <= 480; n += 7)
      for (const s of [
        { content: '台'.repeat(n) },
        { content: '台风', contents: { en: 'y'.repeat(n) }, signatures: { en: 'EMA' } },
        { content: '台'.repeat(n % 90), contents: { en: 'y'.repeat(n) } },
        { content: '台'.repeat(n % 200), contents: { en: 'y'.repeat(n) }, signatures: { en: 'EMA' }, exercise: true },
      ]) {
        const spec = { signature: '翼讯通', ...s };
        const sent = (['zh', 'en'] as const)
          .filter((l) => l === 'zh' || spec.contents)
          .map((l) => smsOf(spec, l))
          .map((m) => segmentText(composeText(m.signature, m.content), 0).parts.length);
        expect(perMessage(s), JSON.stringify(s)).toBe(Math.max(...sent));
      }
  });

  it.each([
    // A Latin signature on a GSM-7 text is written [EMA] (composeText): 7 + 150 septets, one SMS of 160.
    ['a 150-character English body with a Latin signature', { en: 'EMA' }, 'x'.repeat(150), 1],
    // Without one the English SMS is signed 【应急】, which GSM-7 cannot encode: UCS-2, 154 characters three parts of 67.
    ['a 150-character English body under the Chinese signature', undefined, 'x'.repeat(150), 3],
  ])('costs each language with the signature it is sent with: %s', (_what, signatures, en, units) => {
    const spec = { signature: '应急', signatures, content: '台风预警', contents: { en } };
    expect(smsUnits(smsOf(spec, 'zh'))).toBe(1);
    expect(smsUnits(smsOf(spec, 'en'))).toBe(units);
  });

  it('reserves by the costliest language, with the exercise prefix and the signature of that language', () => {
    const spec = { signature: '应急', content: '台风预警', contents: { en: 'Typhoon warning: '.repeat(5) }, exercise: true, quota };
    expect(costedSpec(spec)).toMatchObject({ signature: '应急', content: `[EXERCISE] ${'Typhoon warning: '.repeat(5)}` });
    expect(costedSpec({ ...spec, signatures: { en: 'EMA' } })).toMatchObject({ signature: '应急', content: '【演练】台风预警' });
    expect(costedSpec({ signature: '应急', content: '台风预警', quota })).toMatchObject({ signature: '应急', content: '台风预警' });
  });
});
