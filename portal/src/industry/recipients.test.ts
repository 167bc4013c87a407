import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normalizeMobile, parseRecipients } from './recipients.ts';

describe('recipients typed into a send', () => {
  it.each([
    ['13800138000', '13800138000'],
    ['+8613800138000', '13800138000'],
    ['008613800138000', '13800138000'],
    ['138-0013-8000', '13800138000'],
    ['+86 138 0013 8000', '13800138000'],
    ['19912345678', '19912345678'],
    ['12800138000', undefined],
    ['1380013800', undefined],
    ['138001380001', undefined],
    ['+1 415 555 0100', undefined],
    ['abc', undefined],
  ])('normalises %j to %j', (input, expected) => {
    expect(normalizeMobile(input)).toBe(expected);
  });

  it('accepts any separator and reports invalid and duplicate entries with their position', () => {
    const r = parseRecipients('13800138000,13900139000；13800138000、12345\n+86 137 0013 7000  15000150000\t1860018600x');
    expect(r.valid).toEqual(['13800138000', '13900139000', '13700137000', '15000150000']);
    expect(r.rejected).toEqual([
      expect.objectContaining({ input: '13800138000', position: 3, reason: 'duplicate' }),
      expect.objectContaining({ input: '12345', position: 4, reason: 'invalid' }),
      expect.objectContaining({ input: '1860018600x', position: 7, reason: 'invalid' }),
    ]);
    expect(r.rejected[1]!.message).toContain('不是有效的中国大陆手机号码');
  });

  it('never loses an entry: every entry is either valid or rejected (property)', () => {
    const num = fc
      .tuple(fc.integer({ min: 3, max: 9 }), fc.integer({ min: 0, max: 999_999_999 }))
      .map(([a, b]) => `1${a}${String(b).padStart(9, '0')}`);
    const junk = fc.stringMatching(/^[a-z0-9]{1,12}$/);
    fc.assert(
      fc.property(fc.array(fc.oneof(num, junk), { maxLength: 50 }), (entries) => {
        const r = parseRecipients(entries.join(','));
        return r.valid.length + r.rejected.length === entries.length && new Set(r.valid).size === r.valid.length;
      }),
    );
  });
});
