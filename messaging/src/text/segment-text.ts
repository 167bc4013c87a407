import { encodeGsm7, gsmSeptets } from './gsm7.ts';

/**
 * Encoding and segmenting of one SMS text, and the counts the portal shows while a user types.
 *
 * GSM-7 when every character is in the GSM 03.38 alphabet (extension characters cost two septets),
 * otherwise UCS-2 (UTF-16BE). One SMS holds 160 septets or 70 UTF-16 units; a concatenated one
 * holds 153 or 67 per part, the rest of the 140 octets being the 6-octet UDH (IEI 0x00). A part
 * ends between grapheme clusters (Intl.Segmenter), so never inside a surrogate pair (emoji), a GSM
 * escape pair, a flag or a ZWJ sequence; such a part is shorter: counting therefore runs the same
 * split as sending, and the billing count is the number of parts sent.
 */

export type SmsEncoding = 'gsm7' | 'ucs2';

export const SINGLE_GSM7 = 160;
export const PART_GSM7 = 153;
export const SINGLE_UCS2 = 70;
export const PART_UCS2 = 67;
/** The 8-bit concatenation header counts parts in one octet. */
export const MAX_SEGMENTS = 255;
/** data_coding values of SMPP 3.4. */
export const DATA_CODING: Record<SmsEncoding, number> = { gsm7: 0x00, ucs2: 0x08 };

export type TextRefusalCode = 'EMPTY' | 'UNENCODABLE' | 'TOO_LONG';

/** Why a text cannot be sent, with a zh-CN reason a user can act on. */
export class TextRefusal extends Error {
  override name = 'TextRefusal';
  constructor(
    readonly code: TextRefusalCode,
    message: string,
    /** UTF-16 index of the offending character, for UNENCODABLE. */
    readonly index?: number,
  ) {
    super(message);
  }
}

export interface SmsCount {
  encoding: SmsEncoding;
  /** Characters as a person counts them (code points), 字数. */
  chars: number;
  /** Septets (GSM-7) or UTF-16 units (UCS-2). */
  units: number;
  /** Parts on the air; the billing count of this text for one recipient. */
  segments: number;
  /** Capacity of one part for this text: 160/153 or 70/67. */
  perSegment: number;
}

/** Returns a refusal for a text no carrier can take, or undefined. */
export function refuseText(text: string): TextRefusal | undefined {
  if (text.trim().length === 0) return new TextRefusal('EMPTY', '短信内容为空');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      return new TextRefusal('UNENCODABLE', `第 ${i + 1} 个字符是不成对的代理项，无法编码`, i);
    }
    if (c >= 0xdc00 && c <= 0xdfff) return new TextRefusal('UNENCODABLE', `第 ${i + 1} 个字符是不成对的代理项，无法编码`, i);
    // Control characters other than tab, newline, carriage return and form feed have no place on a handset.
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || (c >= 0x7f && c < 0xa0) || c === 0xfffe || c === 0xffff) {
      return new TextRefusal('UNENCODABLE', `第 ${i + 1} 个字符是控制字符 U+${c.toString(16).toUpperCase().padStart(4, '0')}，无法发送`, i);
    }
  }
  return undefined;
}

function chooseEncoding(text: string): SmsEncoding {
  for (let i = 0; i < text.length; i++) if (gsmSeptets(text.charCodeAt(i)) === 0) return 'ucs2';
  return 'gsm7';
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Width of text[from, to) in the encoding's units: septets (GSM-7) or UTF-16 units (UCS-2). */
function widthOf(text: string, from: number, to: number, encoding: SmsEncoding): number {
  if (encoding === 'ucs2') return to - from;
  let w = 0;
  for (let i = from; i < to; i++) w += gsmSeptets(text.charCodeAt(i));
  return w;
}

/**
 * UTF-16 indices where each part starts, plus text.length at the end. Parts end between grapheme
 * clusters (what a reader sees as one character: a flag, a ZWJ family, a letter with its accents,
 * CR LF), so a cluster that does not fit in what is left of a part starts the next one. A cluster
 * wider than a whole part is split, between code points (never inside a surrogate pair).
 */
function cutPoints(text: string, encoding: SmsEncoding): { cuts: number[]; units: number } {
  const single = encoding === 'gsm7' ? SINGLE_GSM7 : SINGLE_UCS2;
  const part = encoding === 'gsm7' ? PART_GSM7 : PART_UCS2;
  const units = widthOf(text, 0, text.length, encoding);
  if (units <= single) return { cuts: [0, text.length], units };
  const cuts = [0];
  let used = 0;
  for (const { index, segment } of graphemes.segment(text)) {
    const width = widthOf(text, index, index + segment.length, encoding);
    if (used + width <= part) {
      used += width;
      continue;
    }
    if (width <= part) {
      cuts.push(index);
      used = width;
      continue;
    }
    // Wider than any part: fill parts with its code points.
    for (let i = index; i < index + segment.length;) {
      const c = text.charCodeAt(i);
      const step = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
      const w = widthOf(text, i, i + step, encoding);
      if (used + w > part) {
        cuts.push(i);
        used = 0;
      }
      used += w;
      i += step;
    }
  }
  cuts.push(text.length);
  return { cuts, units };
}

function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(c >= 0xdc00 && c <= 0xdfff && i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff)) n++;
  }
  return n;
}

/**
 * Counts one text as it will go on the air. Throws {@link TextRefusal} for an empty or
 * unencodable text, or one longer than 255 parts.
 *
 * @example
 * countSms('【气象台】台风红色预警').segments // 1 (UCS-2, 12 of 70)
 */
export function countSms(text: string): SmsCount {
  const refusal = refuseText(text);
  if (refusal) throw refusal;
  const encoding = chooseEncoding(text);
  const { cuts, units } = cutPoints(text, encoding);
  const segments = cuts.length - 1;
  if (segments > MAX_SEGMENTS) throw new TextRefusal('TOO_LONG', `短信过长：${segments} 条，最多 ${MAX_SEGMENTS} 条`);
  const perSegment = segments === 1 ? (encoding === 'gsm7' ? SINGLE_GSM7 : SINGLE_UCS2) : encoding === 'gsm7' ? PART_GSM7 : PART_UCS2;
  return { encoding, chars: codePoints(text), units, segments, perSegment };
}

export interface EncodedSms {
  encoding: SmsEncoding;
  dataCoding: number;
  /** One short_message per part, each starting with the UDH when there is more than one. */
  parts: Buffer[];
  /** The text of each part, for logs and the simulator's view. */
  texts: string[];
}

/**
 * Encodes and splits a text for submit_sm. `reference` (0–255) ties the parts of one message
 * together on the handset; use a different one for each concurrent message to the same number.
 */
export function segmentText(text: string, reference: number): EncodedSms {
  const refusal = refuseText(text);
  if (refusal) throw refusal;
  const encoding = chooseEncoding(text);
  const { cuts } = cutPoints(text, encoding);
  const total = cuts.length - 1;
  if (total > MAX_SEGMENTS) throw new TextRefusal('TOO_LONG', `短信过长：${total} 条，最多 ${MAX_SEGMENTS} 条`);
  const parts: Buffer[] = [];
  const texts: string[] = [];
  for (let p = 0; p < total; p++) {
    const t = text.slice(cuts[p], cuts[p + 1]);
    texts.push(t);
    const body = encoding === 'gsm7' ? encodeGsm7(t) : Buffer.from(t, 'utf16le').swap16();
    parts.push(total === 1 ? body : Buffer.concat([Buffer.from([0x05, 0x00, 0x03, reference & 0xff, total, p + 1]), body]));
  }
  return { encoding, dataCoding: DATA_CODING[encoding], parts, texts };
}

/** Concatenation info from a UDH (IEI 0x00 with 8-bit or 0x08 with 16-bit reference). */
export function readConcatUdh(udh: Uint8Array): { reference: number; total: number; part: number } | undefined {
  let i = 1;
  while (i + 1 < udh.length && i <= udh[0]!) {
    const iei = udh[i]!;
    const len = udh[i + 1]!;
    if (iei === 0x00 && len === 3) return { reference: udh[i + 2]!, total: udh[i + 3]!, part: udh[i + 4]! };
    if (iei === 0x08 && len === 4) return { reference: (udh[i + 2]! << 8) | udh[i + 3]!, total: udh[i + 4]!, part: udh[i + 5]! };
    i += 2 + len;
  }
  return undefined;
}
