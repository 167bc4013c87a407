/**
 * Answers to an alert's check-in (#21 "People answer back"): the alert asks "回复1表示安全，回复2表示需要
 * 帮助", and a handset's reply is read as one of the task's answer codes, or as unrecognised (kept, so
 * an operator can read what people wrote). Handsets send what their keyboards make: full-width digits
 * (１), a trailing full stop ("1." "1。"), spaces, "回复1", the code followed by words ("2 被困在二楼"),
 * or the answer's own label ("安全").
 */

/** One answer a check-in offers. */
export interface CheckInOption {
  /** What the person replies, e.g. `1`. */
  code: string;
  /** What it means, e.g. `安全`. */
  label: string;
  /** Whether this answer asks for help (those people are listed for rescuers). */
  help?: boolean;
}

/** Characters that may stand between the code and whatever the person wrote after it. */
const SEPARATOR = /^[\s.。、,，:：;；!！?？)）\]】>＞~～/\\-]/u;
/** Opening brackets and words people put before the code. */
const LEAD = /^(?:回复|回|答复|reply|re|[\s(（[【<＜"'“‘#＃])+/iu;

/** Full-width to half-width (NFKC), trimmed, upper case: the form codes and replies are compared in. */
export function normalizeAnswer(text: string): string {
  return text.normalize('NFKC').trim().toUpperCase();
}

/**
 * The code of the option a reply chooses, or undefined when it chooses none (unrecognised).
 * A code counts only when nothing but a separator follows it: with codes 1 and 2, "12" is not 1.
 * @example parseCheckInAnswer('１。', [{ code: '1', label: '安全' }]) // '1'
 * @example parseCheckInAnswer('2 被困在二楼', options) // '2'
 * @example parseCheckInAnswer('需要帮助', options) // '2' (its label)
 * @example parseCheckInAnswer('收到', options) // undefined
 */
export function parseCheckInAnswer(text: string, options: readonly CheckInOption[]): string | undefined {
  const t = normalizeAnswer(text).replace(LEAD, '');
  if (!t) return undefined;
  // Longest code first, so that a code 10 is not read as 1 followed by 0.
  const codes = [...options].sort((a, b) => b.code.length - a.code.length);
  for (const o of codes) {
    const code = normalizeAnswer(o.code);
    if (code && t.startsWith(code)) {
      const rest = t.slice(code.length);
      if (rest === '' || SEPARATOR.test(rest)) return o.code;
    }
  }
  // The label itself ("安全"), alone or with closing punctuation.
  const bare = t.replace(/[\s.。!！,，]+$/u, '');
  return options.find((o) => normalizeAnswer(o.label) === bare)?.code;
}
