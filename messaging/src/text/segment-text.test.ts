import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { countSms, readConcatUdh, refuseText, segmentText } from './segment-text.ts';
import { decodeGsm7 } from './gsm7.ts';

const decodePart = (buf: Buffer, encoding: 'gsm7' | 'ucs2', multi: boolean) => {
  const body = multi ? buf.subarray(buf[0]! + 1) : buf;
  return encoding === 'gsm7' ? decodeGsm7(body) : Buffer.from(body).swap16().toString('utf16le');
};

describe('countSms', () => {
  it.each([
    ['a'.repeat(160), 'gsm7', 1],
    ['a'.repeat(161), 'gsm7', 2],
    ['a'.repeat(306), 'gsm7', 2],
    ['a'.repeat(307), 'gsm7', 3],
    ['中'.repeat(70), 'ucs2', 1],
    ['中'.repeat(71), 'ucs2', 2],
    ['中'.repeat(134), 'ucs2', 2],
    ['中'.repeat(135), 'ucs2', 3],
    // € is an extension character: two septets.
    ['€'.repeat(80), 'gsm7', 1],
    ['€'.repeat(81), 'gsm7', 2],
    // One Chinese character makes the whole message UCS-2.
    ['a'.repeat(69) + '中', 'ucs2', 1],
    ['a'.repeat(70) + '中', 'ucs2', 2],
  ] as const)('counts %#: %s… as %s in %i part(s)', (text, encoding, segments) => {
    const c = countSms(text);
    expect(c.encoding).toBe(encoding);
    expect(c.segments).toBe(segments);
  });

  it('counts the signature as part of the text', () => {
    expect(countSms('【气象台】' + '中'.repeat(65)).segments).toBe(1);
    expect(countSms('【气象台】' + '中'.repeat(66)).segments).toBe(2);
  });

  it('never splits an emoji: a part ending on half a surrogate pair is one unit shorter', () => {
    // 66 units then a 2-unit emoji: the emoji would straddle the 67-unit boundary.
    const text = '中'.repeat(66) + '😀' + '中'.repeat(10);
    const enc = segmentText(text, 1);
    expect(enc.texts[0]).toBe('中'.repeat(66));
    expect(enc.texts[1]!.startsWith('😀')).toBe(true);
    expect(countSms(text).segments).toBe(2);
  });

  // Grapheme clusters: what a reader sees as one character. Split, a handset shows two broken halves
  // (a flag as two letters in boxes, a family as four people, an accent on the next part's letter).
  it.each([
    ['a flag (two regional indicators, 4 units)', '🇨🇳', 65],
    ['a ZWJ family (11 units)', '👨‍👩‍👧‍👦', 60],
    ['an emoji with a skin tone (4 units)', '👍🏽', 65],
    ['a keycap (3 units)', '1️⃣', 66],
    ['a letter with two combining marks (3 units)', 'ẹ́', 66],
    ['a Hangul syllable from jamo (3 units)', '각', 66],
  ])('keeps %s whole, moving it to the next part when it does not fit', (_name, cluster, before) => {
    const text = '中'.repeat(before) + cluster + '中'.repeat(80);
    const enc = segmentText(text, 1);
    expect(enc.texts.join('')).toBe(text);
    expect(enc.texts[0]).toBe('中'.repeat(before));
    expect(enc.texts[1]!.startsWith(cluster)).toBe(true);
    expect(countSms(text).segments).toBe(enc.parts.length);
  });

  it('fills a part up to a cluster that fits exactly', () => {
    const text = '中'.repeat(63) + '🇨🇳' + '中'.repeat(80);
    expect(segmentText(text, 1).texts[0]).toBe('中'.repeat(63) + '🇨🇳');
  });

  it('keeps CR LF (one cluster) together in GSM-7', () => {
    const text = 'a'.repeat(152) + '\r\n' + 'b'.repeat(10);
    const enc = segmentText(text, 1);
    expect(enc.encoding).toBe('gsm7');
    expect(enc.texts[0]).toBe('a'.repeat(152));
    expect(enc.texts[1]!.startsWith('\r\n')).toBe(true);
  });

  it('splits a cluster longer than a part at code points, never inside a surrogate pair', () => {
    // A base letter with 100 combining marks: 101 units, more than one 67-unit part holds.
    const zalgo = 'a' + '\u0301\u0302'.repeat(50);
    const text = '中'.repeat(10) + zalgo + '中'.repeat(10);
    const enc = segmentText(text, 1);
    expect(enc.texts.join('')).toBe(text);
    expect(enc.texts[0]!.length).toBe(67);
    const family = '👨‍👩‍👧‍👦'.repeat(1).replace(/$/, '\u200d👨‍👩‍👧‍👦'.repeat(7)); // one cluster of 95 units
    const enc2 = segmentText(family + '中', 1);
    expect(enc2.texts.join('')).toBe(family + '中');
    for (const t of enc2.texts) {
      expect(t.length).toBeLessThanOrEqual(67);
      expect(/^[\udc00-\udfff]/.test(t)).toBe(false);
      expect(/[\ud800-\udbff]$/.test(t)).toBe(false);
    }
  });

  it('never splits a GSM escape pair across parts', () => {
    const text = 'a'.repeat(152) + '€' + 'b'.repeat(10);
    const enc = segmentText(text, 1);
    expect(enc.texts[0]).toBe('a'.repeat(152));
    expect(enc.texts[1]!.startsWith('€')).toBe(true);
  });

  it.each([
    ['', 'EMPTY'],
    ['   \n', 'EMPTY'],
    ['abc\ud800def', 'UNENCODABLE'],
    ['abc\udc00', 'UNENCODABLE'],
    ['bell\u0007', 'UNENCODABLE'],
    ['中'.repeat(67 * 256), 'TOO_LONG'],
  ])('refuses %j with %s and a reason', (text, code) => {
    expect(() => countSms(text)).toThrow(expect.objectContaining({ code, message: expect.any(String) }));
  });
});

describe('segmentText', () => {
  it('adds a concatenation UDH with the same reference, the total and the part number', () => {
    const enc = segmentText('中'.repeat(140), 42);
    expect(enc.parts).toHaveLength(3);
    enc.parts.forEach((p, i) => {
      expect(readConcatUdh(p)).toEqual({ reference: 42, total: 3, part: i + 1 });
      expect(p.length).toBeLessThanOrEqual(140);
    });
  });

  it('sends GSM-7 as one septet per octet with data_coding 0 and UCS-2 as UTF-16BE with data_coding 8', () => {
    expect(segmentText('Hi {x}', 0)).toMatchObject({ encoding: 'gsm7', dataCoding: 0 });
    expect(segmentText('Hi {x}', 0).parts[0]).toEqual(Buffer.from([0x48, 0x69, 0x20, 0x1b, 0x28, 0x78, 0x1b, 0x29]));
    expect(segmentText('中', 0)).toMatchObject({ encoding: 'ucs2', dataCoding: 8 });
    expect(segmentText('中', 0).parts[0]).toEqual(Buffer.from([0x4e, 0x2d]));
  });
});

const gsmChar = fc.constantFrom(
  ...'@£$¥èéùìòÇ\nØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà^{}\\[~]|€'.split(''),
);
const CLUSTERS = ['🇨🇳', '🇭🇰', '👨‍👩‍👧‍👦', '👩🏽‍💻', '🏳️‍🌈', '1️⃣', 'e\u0301', 'e\u0301\u0323', '\u1100\u1161\u11a8', '\r\n', '👍🏽'];
const anyChar = fc.oneof(
  gsmChar,
  fc.constantFrom('中', '文', '😀', '👍🏽', '𠀀', '【', '】', 'é', '，'),
  fc.constantFrom(...CLUSTERS),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);
const text = fc
  .array(anyChar, { minLength: 1, maxLength: 700 })
  .map((a) => a.join(''))
  .filter((t) => !refuseText(t));
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** UTF-16 offsets where a grapheme cluster starts (and the text's end). */
const clusterStarts = (t: string) => new Set([...[...graphemes.segment(t)].map((g) => g.index), t.length]);
const widthOf = (cluster: string, encoding: 'gsm7' | 'ucs2') => (encoding === 'ucs2' ? cluster.length : countSms(cluster).units);

describe('segmenting, for any text', () => {
  it('joins back to the original, keeps every part within 140 octets, and counts what it sends', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 255 }), (t, ref) => {
        const enc = segmentText(t, ref);
        const multi = enc.parts.length > 1;
        expect(enc.texts.join('')).toBe(t);
        expect(enc.parts.map((p) => decodePart(p, enc.encoding, multi)).join('')).toBe(t);
        for (const p of enc.parts) expect(p.length).toBeLessThanOrEqual(enc.encoding === 'gsm7' ? 160 : 140);
        if (multi) for (const p of enc.parts) expect(p.length).toBeLessThanOrEqual(enc.encoding === 'gsm7' ? 159 : 140);
        expect(countSms(t).segments).toBe(enc.parts.length);
      }),
      { numRuns: 300 },
    );
  });

  it('cuts parts only between grapheme clusters, unless a cluster is wider than a part (then between code points)', () => {
    fc.assert(
      fc.property(text, (t) => {
        const enc = segmentText(t, 0);
        if (enc.texts.length === 1) return;
        const starts = clusterStarts(t);
        const part = enc.encoding === 'gsm7' ? 153 : 67;
        const clusters = [...graphemes.segment(t)];
        let at = 0;
        for (const piece of enc.texts.slice(0, -1)) {
          at += piece.length;
          if (starts.has(at)) continue;
          // Inside a cluster: only one too wide for any part, and never inside a surrogate pair.
          const c = clusters.findLast((g) => g.index < at)!;
          expect(widthOf(c.segment, enc.encoding)).toBeGreaterThan(part);
          const code = t.charCodeAt(at);
          expect(code >= 0xdc00 && code <= 0xdfff).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never starts a part with the second half of a surrogate pair', () => {
    fc.assert(
      fc.property(text, (t) => {
        for (const part of segmentText(t, 0).texts) {
          const c = part.charCodeAt(0);
          expect(c >= 0xdc00 && c <= 0xdfff).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('needs at least ceil(units / part size) segments, and loses less than its widest cluster per part', () => {
    fc.assert(
      fc.property(text, (t) => {
        const c = countSms(t);
        const single = c.encoding === 'gsm7' ? 160 : 70;
        const part = c.encoding === 'gsm7' ? 153 : 67;
        if (c.units <= single) expect(c.segments).toBe(1);
        else {
          const widest = Math.min(part, Math.max(...[...graphemes.segment(t)].map((g) => widthOf(g.segment, c.encoding))));
          expect(c.segments).toBeGreaterThanOrEqual(Math.ceil(c.units / part));
          expect(c.segments).toBeLessThanOrEqual(Math.ceil(c.units / (part - widest + 1)));
        }
      }),
      { numRuns: 300 },
    );
  });
});
