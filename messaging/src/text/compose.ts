import { isGsm7 } from './gsm7.ts';
import { countSms, TextRefusal, type SmsEncoding } from './segment-text.ts';

/** The original product splits a send's text into tasks of at most this many characters. */
export const TASK_CHARS = 500;

/**
 * The text on the handset: the signature in brackets, then the content. The signature counts.
 * The brackets are 【】, as Chinese carriers want them, unless the signature and the content are
 * both in the GSM 7-bit alphabet (an English text signed in Latin letters): then `[]`, because 【】
 * are not in it and would make the whole SMS UCS-2 — 70 characters an SMS instead of 160, an
 * English alert of 150 characters three SMS instead of one (#21). `[` and `]` cost two septets
 * each; the portal refuses both bracket kinds in a signature, so the form is never ambiguous.
 *
 * @example
 * composeText('气象台', '大风') // '【气象台】大风'
 * composeText('Hangzhou EMA', 'Typhoon warning') // '[Hangzhou EMA]Typhoon warning'
 */
export function composeText(signature: string, content: string): string {
  return isGsm7(content) && isGsm7(signature) ? `[${signature}]${content}` : `【${signature}】${content}`;
}

function takeCodePoints(s: string, from: number, n: number): number {
  let i = from;
  for (let k = 0; k < n && i < s.length; k++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return i;
}

/**
 * Splits a send's content into tasks as the original product does (按500字分一条任务): each task
 * is sent as its own message, carries the signature, and is at most `maxChars` characters including
 * it. A character (emoji included) is never cut in two.
 *
 * @example
 * splitTasks('气象台', 'x'.repeat(1000)).length // 3 (495 + 495 + 10 content characters)
 */
export function splitTasks(signature: string, content: string, maxChars = TASK_CHARS): string[] {
  const room = maxChars - [...composeText(signature, '')].length;
  if (room <= 0) throw new TextRefusal('TOO_LONG', `签名过长：任务最多 ${maxChars} 字`);
  if (content.trim().length === 0) throw new TextRefusal('EMPTY', '短信内容为空');
  const tasks: string[] = [];
  for (let i = 0; i < content.length;) {
    const j = takeCodePoints(content, i, room);
    tasks.push(composeText(signature, content.slice(i, j)));
    i = j;
  }
  return tasks;
}

export interface MessageCount {
  /** Characters of the content with the signature once (已输入字数). */
  chars: number;
  /** Tasks of 500 characters (任务数). */
  tasks: number;
  /** Segments of all tasks: the billing count per recipient (计费条数). */
  segments: number;
  /** UCS-2 when any task needs it. */
  encoding: SmsEncoding;
}

export type MessageCheck = ({ ok: true } & MessageCount) | { ok: false; code: TextRefusal['code']; reason: string };

/**
 * The counts the portal shows under the text box, and the refusal when the text cannot be sent.
 * Pure and cheap: call it on every keystroke.
 *
 * @example
 * countMessage('气象台', '明日有暴雨') // { ok: true, chars: 10, tasks: 1, segments: 1, encoding: 'ucs2' }
 */
export function countMessage(signature: string, content: string): MessageCheck {
  try {
    const tasks = splitTasks(signature, content);
    let segments = 0;
    let encoding: SmsEncoding = 'gsm7';
    for (const t of tasks) {
      const c = countSms(t);
      segments += c.segments;
      if (c.encoding === 'ucs2') encoding = 'ucs2';
    }
    const chars = [...composeText(signature, content)].length;
    return { ok: true, chars, tasks: tasks.length, segments, encoding };
  } catch (err) {
    if (err instanceof TextRefusal) return { ok: false, code: err.code, reason: err.message };
    throw err;
  }
}

/**
 * {@link countMessage} for a big-data alert, which goes out as one message however long (its
 * segments concatenated on the handset), not in tasks of 500 characters: what the ledger reserves
 * and settles per recipient (#21). Refuses what {@link countMessage} refuses.
 *
 * @example
 * countAlert('翼讯通', '字'.repeat(1000)) // { ok: true, chars: 1005, tasks: 1, segments: 15, encoding: 'ucs2' }
 */
export function countAlert(signature: string, content: string): MessageCheck {
  const check = countMessage(signature, content);
  if (!check.ok) return check;
  const c = countSms(composeText(signature, content));
  return { ok: true, chars: check.chars, tasks: 1, segments: c.segments, encoding: c.encoding };
}
