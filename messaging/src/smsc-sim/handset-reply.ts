/**
 * What a simulated handset answers to a message (the demo's and tests' MO text). A check-in
 * (回复报平安, #21) asks for a code — "回复1表示安全，回复2表示需要帮助" or "Reply 1 if safe, 2 if you
 * need help" — and people mostly answer it: so a message with such a prompt gets one of its codes
 * {@link CHECKIN_ANSWER_SHARE} of the time (the first, "safe", {@link FIRST_OPTION_SHARE} of those),
 * else one of the configured texts, which no check-in recognises (its 无法识别 count). Any other
 * message gets a configured text.
 */

/** Of the replies to a check-in, the share that is one of its codes. @default 0.8 */
export const CHECKIN_ANSWER_SHARE = 0.8;
/** Of the coded answers, the share that is the first option. @default 0.8 */
export const FIRST_OPTION_SHARE = 0.8;

const CODE = '([0-9A-Za-z]{1,4})';
const ZH = new RegExp(`回复\\s*${CODE}\\s*表示`, 'g');
const EN_START = new RegExp(`\\bReply\\s+${CODE}\\s+(?:if|for|when)\\b`, 'i');
const EN_NEXT = new RegExp(`^\\s*${CODE}\\s+(?:if|for|when)\\b`, 'i');

/**
 * The answer codes a message's check-in prompt offers, in order; none for a message without one.
 * @example checkInCodes('洪水预警。回复1表示安全，回复2表示需要帮助。') // ['1', '2']
 * @example checkInCodes('Reply 1 if safe, 2 if you need help.') // ['1', '2']
 */
export function checkInCodes(text: string): string[] {
  const codes = [...text.matchAll(ZH)].map((m) => m[1]!);
  const en = EN_START.exec(text);
  if (en) {
    codes.push(en[1]!);
    for (const piece of text
      .slice(en.index + en[0].length)
      .split(/[,，]/)
      .slice(1)) {
      const m = EN_NEXT.exec(piece);
      if (m) codes.push(m[1]!);
    }
  }
  return [...new Set(codes)];
}

/**
 * The handset's reply to `text`: a check-in code (mostly the first) or one of `others`.
 * @param random a source of numbers in [0, 1) @default Math.random
 */
export function handsetReply(text: string, others: readonly string[], random: () => number = Math.random): string {
  const codes = checkInCodes(text);
  if (codes.length && random() < CHECKIN_ANSWER_SHARE) {
    if (codes.length === 1 || random() < FIRST_OPTION_SHARE) return codes[0]!;
    const rest = codes.slice(1);
    return rest[Math.floor(random() * rest.length)]!;
  }
  return others[Math.floor(random() * others.length)] ?? '收到';
}
