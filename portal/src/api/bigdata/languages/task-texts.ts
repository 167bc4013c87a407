import { smsContent, TEXT_LANGUAGES, type TextLanguage } from '@geo/alerting';
import { countMessage } from '@geo/messaging';

/**
 * A task's texts per language (#21). The form's `content` is the Chinese text; `texts` holds the
 * others (`{ language: 'en-US', content }`, from the console or a CAP alert's other `info` blocks).
 * Alerting sends the languages it can choose between (`TEXT_LANGUAGES`: zh and en) as the spec's
 * `contents`; other languages (ja-JP from a CAP alert) stay with the form for the CAP export.
 */

interface Texts {
  content: string;
  texts?: readonly { language: string; content: string }[] | undefined;
}

/** The English text of a form: its first text whose language is English (en, en-US, en-GB …). */
export const englishText = (f: Texts): string | undefined => f.texts?.find((t) => /^en\b/i.test(t.language) && t.content.trim())?.content;

/** The spec's `contents` for a form: the texts alerting can send besides the Chinese one. */
export function specContents(f: Texts): { en: string } | undefined {
  const en = englishText(f);
  return en ? { en } : undefined;
}

export interface LanguageCost {
  language: TextLanguage;
  /** Characters on the handset, signature (and an exercise's 【演练】) included. */
  chars: number;
  /** Billing count of one SMS in this language (segments): 160 / 153 GSM-7, 70 / 67 UCS-2. */
  segments: number;
}

/**
 * What one SMS costs in each language the task sends, as messaging counts it (the signature and
 * an exercise's prefix included).
 * @example costPerLanguage({ signature: '应急', content: '台风', contents: { en: 'Typhoon' } }) // [{ language: 'zh', chars: 6, segments: 1 }, { language: 'en', … }]
 */
export function costPerLanguage(spec: {
  signature: string;
  /** The English SMS's own signature (alerting signs English with it when set; a Latin one keeps it GSM-7). */
  signatures?: { en?: string | undefined } | undefined;
  content: string;
  contents?: { en?: string } | undefined;
  exercise?: boolean | undefined;
}): LanguageCost[] {
  return TEXT_LANGUAGES.filter((l) => l === 'zh' || spec.contents?.[l]).map((language) => {
    const signature = (language === 'en' && spec.signatures?.en) || spec.signature;
    const m = countMessage(signature || ' ', smsContent(spec, language));
    return { language, chars: m.ok ? m.chars : 0, segments: m.ok ? Math.max(1, m.segments) : 1 };
  });
}

/**
 * The text whose SMS costs most: what the ledger reserves per message (who reads which language is
 * known only when they are sent), so that a task never sends more than it reserved.
 */
export function costliestContent(spec: Parameters<typeof costPerLanguage>[0]): string {
  const costs = costPerLanguage(spec);
  const top = costs.reduce((a, b) => (b.segments > a.segments ? b : a));
  return smsContent(spec, top.language);
}
