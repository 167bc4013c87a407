/**
 * The GSM 03.38 default alphabet and its extension table. SMPP carries GSM-7 text unpacked, one
 * septet per octet (data_coding 0), which is what this module produces.
 */

const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1BÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** Extension characters → the septet that follows the 0x1B escape. Each costs two septets. */
const EXTENSION: Record<string, number> = {
  '\f': 0x0a,
  '^': 0x14,
  '{': 0x28,
  '}': 0x29,
  '\\': 0x2f,
  '[': 0x3c,
  '~': 0x3d,
  ']': 0x3e,
  '|': 0x40,
  '€': 0x65,
};

/** UTF-16 code unit → septet, or -1 (not basic). Built once; BMP only, GSM has no astral chars. */
const basicSeptet = new Int16Array(0x10000).fill(-1);
for (let i = 0; i < BASIC.length; i++) if (i !== 0x1b) basicSeptet[BASIC.charCodeAt(i)] = i;
const extSeptet = new Int16Array(0x10000).fill(-1);
for (const [ch, v] of Object.entries(EXTENSION)) extSeptet[ch.charCodeAt(0)] = v;
const decodeBasic = BASIC.split('');
const decodeExt = new Map(Object.entries(EXTENSION).map(([ch, v]) => [v, ch]));

/** Septets this UTF-16 code unit needs in GSM-7: 1, 2 (extension table) or 0 when it has none. */
export function gsmSeptets(code: number): 0 | 1 | 2 {
  if (basicSeptet[code]! >= 0) return 1;
  if (extSeptet[code]! >= 0) return 2;
  return 0;
}

/** True when every character of `text` is in the GSM-7 default alphabet or its extension table. */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (gsmSeptets(text.charCodeAt(i)) === 0) return false;
  return true;
}

/** Encodes GSM-7 text unpacked (one septet per octet). The caller has checked `isGsm7`. */
export function encodeGsm7(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b = basicSeptet[c]!;
    if (b >= 0) out.push(b);
    else out.push(0x1b, extSeptet[c]!);
  }
  return Buffer.from(out);
}

/** Decodes unpacked GSM-7 septets. */
export function decodeGsm7(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x1b && i + 1 < bytes.length) s += decodeExt.get(bytes[++i]!) ?? ' ';
    else s += decodeBasic[b & 0x7f] ?? ' ';
  }
  return s;
}
