import type { TextLanguage } from '@geo/alerting';
import type { CheckInOption } from '@geo/messaging';
import { fieldErrors } from '../route-kit.ts';

/**
 * The reply prompt of a check-in task (#21), in each language the task sends: the Chinese text ends
 * with "回复1表示安全，回复2表示需要帮助。", the English one (sent to visitors) with "Reply 1 if safe,
 * 2 if you need help." The portal appends it to the task's texts when it is submitted or changed, so
 * the ledger costs each language's SMS with its prompt and alerting sends it as written; a text that
 * has its prompt already (the send form's 「在短信内容末尾加入回复提示」 button) is left as it is.
 */

/** What an English reader is told an answer means, for the answers offered in Chinese most often. */
const ENGLISH_MEANINGS: Record<string, string> = {
  安全: 'if safe',
  平安: 'if safe',
  我安全: 'if safe',
  已安全: 'if safe',
  我平安: 'if safe',
  需要帮助: 'if you need help',
  需帮助: 'if you need help',
  求助: 'if you need help',
  需要救援: 'if you need rescue',
  需救援: 'if you need rescue',
  已撤离: 'if evacuated',
  已转移: 'if evacuated',
  受伤: 'if injured',
  有人受伤: 'if someone is injured',
  被困: 'if trapped',
};
const LATIN = /^[A-Za-z0-9 ,.'/-]+$/;

/** One answer as the form gives it: its English meaning (`labelEn`) when the operator wrote one. */
export type PromptOption = CheckInOption & { labelEn?: string | undefined };

/**
 * An answer's meaning in English: the operator's `labelEn` (as written when it begins "if", "for"
 * or "when", else "for …"), the known Chinese label's, the label itself when written in Latin
 * letters, "if you need help" for another help option, else the bare code ("for option 3").
 */
function englishMeaning(o: PromptOption): string {
  const own = o.labelEn?.trim();
  if (own) return /^(?:if|for|when)\b/.test(own) ? own : `for ${own}`;
  const known = ENGLISH_MEANINGS[o.label.trim()];
  if (known) return known;
  if (LATIN.test(o.label.trim())) return `for ${o.label.trim()}`;
  return o.help ? 'if you need help' : `for option ${o.code}`;
}

/**
 * The prompt in `lang`, without its final full stop.
 * @example checkInPrompt([{ code: '1', label: '安全' }, { code: '2', label: '需要帮助', help: true }], 'zh') // '回复1表示安全，回复2表示需要帮助'
 * @example checkInPrompt([{ code: '1', label: '安全' }, { code: '2', label: '需要帮助', help: true }], 'en') // 'Reply 1 if safe, 2 if you need help'
 */
export function checkInPrompt(options: readonly PromptOption[], lang: TextLanguage): string {
  if (lang === 'en') return `Reply ${options.map((o) => `${o.code} ${englishMeaning(o)}`).join(', ')}`;
  return options.map((o) => `回复${o.code}表示${o.label}`).join('，');
}

/** A text with its prompt at the end (a sentence of its own), or as it is when it has the prompt already. */
export function withPrompt(text: string, prompt: string, lang: TextLanguage): string {
  if (text.includes(prompt)) return text;
  const t = text.trimEnd();
  if (lang === 'en') return `${t}${/[.!?]$/.test(t) ? ' ' : '. '}${prompt}.`;
  return `${t}${/[。！？.!?]$/.test(t) ? '' : '。'}${prompt}。`;
}

/** The most characters a task's text may have, prompt included (alerting's spec takes no more). */
export const MAX_TEXT_CHARS = 2000;

interface Texts {
  content: string;
  contents?: { en?: string | undefined } | undefined;
}

/**
 * A task spec whose texts each end with the check-in prompt in their language (Chinese `content`,
 * English `contents.en`), and the problems of texts the prompt takes past {@link MAX_TEXT_CHARS}
 * (field issues as the form reports them); the spec as it is when the task asks for no answers.
 */
export function promptedTexts<S extends Texts>(
  spec: S,
  options: readonly PromptOption[] | undefined,
): { spec: S; issues: { path: string; message: string }[] } {
  if (!options?.length) return { spec, issues: [] };
  const content = withPrompt(spec.content, checkInPrompt(options, 'zh'), 'zh');
  const en = spec.contents?.en === undefined ? undefined : withPrompt(spec.contents.en, checkInPrompt(options, 'en'), 'en');
  const issues = [
    ...(content.length > MAX_TEXT_CHARS ? [{ path: 'content', message: `发送内容连同回复提示最多 ${MAX_TEXT_CHARS} 字` }] : []),
    ...(en !== undefined && en.length > MAX_TEXT_CHARS
      ? [{ path: 'texts', message: `英文内容连同回复提示最多 ${MAX_TEXT_CHARS} 字` }]
      : []),
  ];
  return { spec: { ...spec, content, ...(en === undefined ? {} : { contents: { ...spec.contents, en } }) }, issues };
}

/**
 * {@link promptedTexts}, refusing a text the prompt takes too long.
 * @throws a field error (400) when a text with its prompt is longer than {@link MAX_TEXT_CHARS}.
 */
export function withCheckInPrompts<S extends Texts>(spec: S, options: readonly PromptOption[] | undefined): S {
  const r = promptedTexts(spec, options);
  if (r.issues.length) throw fieldErrors(r.issues);
  return r.spec;
}

/** The check-in answers a task form asks for, if any (a row's form is stored as JSON). */
export const checkInOptionsOf = (form: unknown): PromptOption[] | undefined =>
  (form as { checkIn?: { options?: PromptOption[] } } | null | undefined)?.checkIn?.options;
