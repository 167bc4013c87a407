/**
 * Recipients typed or pasted into a send: any separator (comma, semicolon, space, newline, 、，；),
 * `+86`/`0086` prefixes, spaces and dashes inside numbers. Invalid and duplicate entries are
 * reported, never silently dropped (the original product's 普通发送).
 */

/** A mainland mobile number after removing spaces and dashes (DESIGN.md). */
const MAINLAND_MOBILE = /^(?:\+86|0086)?(1[3-9]\d{9})$/;

export interface RejectedRecipient {
  /** As the user typed it. */
  input: string;
  /** 1-based position among the entries. */
  position: number;
  reason: 'invalid' | 'duplicate';
  /** zh-CN, for the page. */
  message: string;
}

export interface ParsedRecipients {
  /** Unique numbers, 11 digits, in the order first seen. */
  valid: string[];
  rejected: RejectedRecipient[];
}

/** Normalises one number; `undefined` when it is not a mainland mobile number. */
export function normalizeMobile(raw: string): string | undefined {
  const compact = raw.replace(/[\s\-()（）]/g, '');
  return MAINLAND_MOBILE.exec(compact)?.[1];
}

/** A number written with spaces or dashes inside (`+86 138-0013 8000`), at the start of the text. */
const SPACED_NUMBER = /^(?:(?:\+86|0086)[\s-]*)?1[3-9](?:[\s-]?\d){9}(?!\d)/;

/**
 * Splits on the separators people use. Spaces separate too, except inside a number written in
 * groups: "13800000000 13900000000" is two numbers, "+86 138 0000 0000" is one.
 */
export function splitRecipients(text: string): string[] {
  const out: string[] = [];
  for (const chunk of text.split(/[,，;；、\n\r\t|]+/)) {
    let rest = chunk.trim();
    while (rest) {
      const m = SPACED_NUMBER.exec(rest);
      const token = m ? m[0] : rest.split(/\s+/, 1)[0]!;
      out.push(token);
      rest = rest.slice(token.length).trim();
    }
  }
  return out;
}

export function parseRecipients(input: string | readonly string[]): ParsedRecipients {
  const entries = typeof input === 'string' ? splitRecipients(input) : input.map((s) => s.trim()).filter(Boolean);
  const seen = new Set<string>();
  const valid: string[] = [];
  const rejected: RejectedRecipient[] = [];
  entries.forEach((entry, i) => {
    const n = normalizeMobile(entry);
    if (!n) {
      rejected.push({ input: entry, position: i + 1, reason: 'invalid', message: `“${entry}”不是有效的中国大陆手机号码` });
    } else if (seen.has(n)) {
      rejected.push({ input: entry, position: i + 1, reason: 'duplicate', message: `号码 ${n} 重复，只发送一次` });
    } else {
      seen.add(n);
      valid.push(n);
    }
  });
  return { valid, rejected };
}
