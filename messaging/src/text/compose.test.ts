import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { composeText, countAlert, countMessage, splitTasks } from './compose.ts';
import { countSms, segmentText } from './segment-text.ts';

describe('composeText and splitTasks', () => {
  it('puts the signature in 【】 before the content', () => {
    expect(composeText('气象台', '大风')).toBe('【气象台】大风');
    // A Chinese signature keeps 【】 before an English text, a Latin one before a Chinese text.
    expect(composeText('气象台', 'Gale')).toBe('【气象台】Gale');
    expect(composeText('EMA', '大风')).toBe('【EMA】大风');
  });

  it('signs an English text with a Latin signature as [signature], so that it stays GSM-7 (#21)', () => {
    expect(composeText('Hangzhou EMA', 'Typhoon warning')).toBe('[Hangzhou EMA]Typhoon warning');
    expect(countSms(composeText('EMA', 'Typhoon warning')).encoding).toBe('gsm7');
    expect(countSms(composeText('应急', 'Typhoon warning')).encoding).toBe('ucs2');
  });

  it('splits content into tasks of at most 500 characters, each with the signature', () => {
    const tasks = splitTasks('气象台', '中'.repeat(1000));
    expect(tasks.map((t) => [...t].length)).toEqual([500, 500, 15]);
    for (const t of tasks) expect(t.startsWith('【气象台】')).toBe(true);
  });

  it('keeps a short send as one task', () => {
    expect(splitTasks('A', 'hello')).toEqual(['[A]hello']);
    expect(splitTasks('A', '你好')).toEqual(['【A】你好']);
  });

  it('never cuts an emoji between tasks, and loses no character', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('中', '😀', 'a', '👍🏽'), { minLength: 1, maxLength: 1500 }), (chars) => {
        const content = chars.join('');
        const tasks = splitTasks('签名', content);
        expect(tasks.map((t) => t.slice('【签名】'.length)).join('')).toBe(content);
        for (const t of tasks) {
          expect([...t].length).toBeLessThanOrEqual(500);
          expect(() => countSms(t)).not.toThrow();
        }
      }),
    );
  });
});

describe('countMessage (the portal’s live count)', () => {
  it('counts characters with the signature, tasks and billing segments', () => {
    expect(countMessage('气象台', '明日有暴雨')).toEqual({ ok: true, chars: 10, tasks: 1, segments: 1, encoding: 'ucs2' });
    // A Latin signature before a GSM-7 text is [Met] (two septets a bracket): 209 septets → 2 parts of 153.
    expect(countMessage('Met', 'x'.repeat(200))).toMatchObject({ ok: true, chars: 205, tasks: 1, segments: 2, encoding: 'gsm7' });
    // 【】 are not in GSM-7, so a Chinese signature makes it UCS-2: 205 characters → 4 parts of 67.
    expect(countMessage('气象', 'x'.repeat(201))).toMatchObject({ ok: true, chars: 205, tasks: 1, segments: 4, encoding: 'ucs2' });
    // 1000 Chinese characters: tasks of 495 content + 5 signature = 500 → 8 segments each (67 × 7 = 469 < 500).
    expect(countMessage('气象台', '中'.repeat(1000))).toMatchObject({ ok: true, tasks: 3, segments: 8 + 8 + 1 });
  });

  it('bills an English text signed in Latin letters at 160 septets an SMS, a Chinese one at 70 characters (#21)', () => {
    // [EMA] is 7 septets: 153 more fill one SMS, one more makes two parts of 153.
    expect(countMessage('EMA', 'a'.repeat(153))).toMatchObject({ ok: true, segments: 1, encoding: 'gsm7' });
    expect(countMessage('EMA', 'a'.repeat(154))).toMatchObject({ ok: true, segments: 2, encoding: 'gsm7' });
    // 【应急】 is 4 characters: 66 more fill one SMS.
    expect(countMessage('应急', '中'.repeat(66))).toMatchObject({ ok: true, segments: 1, encoding: 'ucs2' });
    expect(countMessage('应急', '中'.repeat(67))).toMatchObject({ ok: true, segments: 2, encoding: 'ucs2' });
    // The same English text under a Chinese signature: UCS-2, three SMS where one would do.
    expect(countMessage('应急', 'a'.repeat(150))).toMatchObject({ ok: true, segments: 3, encoding: 'ucs2' });
  });

  it('refuses an empty content or an unencodable character with a reason', () => {
    expect(countMessage('气象台', '  ')).toMatchObject({ ok: false, code: 'EMPTY' });
    expect(countMessage('气象台', 'a\ud83d')).toMatchObject({ ok: false, code: 'UNENCODABLE', reason: expect.stringContaining('代理项') });
  });

  it('bills the sum of the segments of every task', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1200 }), (content) => {
        const r = countMessage('签名', content);
        if (!r.ok) return;
        const sum = splitTasks('签名', content).reduce((s, t) => s + countSms(t).segments, 0);
        expect(r.segments).toBe(sum);
      }),
    );
  });

  it('counts an alert as the one message it is sent as: 1000 characters are 15 segments in one task, not 17 in 3', () => {
    expect(countAlert('翼讯通', '字'.repeat(1000))).toEqual({ ok: true, chars: 1005, tasks: 1, segments: 15, encoding: 'ucs2' });
    expect(countMessage('翼讯通', '字'.repeat(1000))).toMatchObject({ tasks: 3, segments: 17 });
    expect(countAlert('EMA', 'a'.repeat(154))).toMatchObject({ ok: true, tasks: 1, segments: 2, encoding: 'gsm7' });
    expect(countAlert('气象台', '  ')).toMatchObject({ ok: false, code: 'EMPTY' });
    // The segments are those segmentText submits for the whole text.
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1200 }), (content) => {
        const r = countAlert('签名', content);
        if (!r.ok) return;
        expect(r.segments).toBe(segmentText(composeText('签名', content), 0).parts.length);
      }),
    );
  });
});
