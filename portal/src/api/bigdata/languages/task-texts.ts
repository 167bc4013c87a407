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
