import { languageCode, type Carrier } from '@geo/ingest';
import type { SmsJob } from '@geo/messaging';
import { smsContent, smsSignature, type AlertTask, type TextLanguage } from '../contract.ts';

/**
 * The SMS job that sends `task` to one person. It names the task's alert type: messaging exempts
 * alert jobs from the anti-bombing limits unless their type is listed as limited (e.g. a drill).
 * Its text is the body in `lang` (the person's language; Chinese by default), behind the exercise
 * prefix of its language when the task is an exercise (【演练】, [EXERCISE] in English), signed with
 * the signature of that text (`smsSignature`: the English one only on the English text). A task
 * asking for check-in answers sends from its reply extension.
 */
export function alertJob(task: AlertTask, msisdn: string, carrier: Carrier, jobId: string, now: number, lang?: TextLanguage): SmsJob {
  const s = task.spec;
  return {
    jobId,
    source: 'alert',
    enterpriseId: s.enterpriseId,
    accountId: s.accountId,
    sendId: task.id,
    msisdn,
    carrier,
    content: smsContent(s, lang),
    signature: smsSignature(s, lang),
    alertType: s.alertType,
    ...(s.replyExtension ? { extension: s.replyExtension } : {}),
    createdAt: now,
  };
}

/**
 * What the language choice reads of a person: the language of their number's profile, when the
 * carrier's enriched signalling gives one (ISO 639-1, e.g. `en`; for an inbound roamer the language
 * of the country of their IMSI). A mainland profile gives none: its people read Chinese.
 */
export interface PersonLanguage {
  lang?: string;
  /** The home city (归属地): a mainland code says nothing of the language, so it is not read. */
  home?: string;
}

/**
 * The language a person gets a task in: Chinese, unless the task has an English text and the
 * person's profile names a language other than Chinese. Roaming-in foreigners get English whatever
 * their own language is, as the one foreign text a task carries.
 * @example languageFor({ content: '台风预警', contents: { en: 'Typhoon warning' } }, { lang: 'ja' }) // 'en'
 */
export function languageFor(spec: { content?: string; contents?: { en?: string } }, person: PersonLanguage): TextLanguage {
  if (!spec.contents?.en || !person.lang) return 'zh';
  return /^zh\b/i.test(person.lang) ? 'zh' : 'en';
}

const ZH = languageCode('zh');

/**
 * {@link languageFor} by a profile's one-byte language code (index in the ingest contract's
 * LANGUAGES + 1, 0 unknown), as presence and claim chunks keep it: no string per person.
 * @example textLanguageOf({ content: '台风预警', contents: { en: 'Typhoon warning' } }, languageCode('ja')) // 'en'
 */
export function textLanguageOf(spec: { contents?: { en?: string } }, code: number): TextLanguage {
  return !spec.contents?.en || code === 0 || code === ZH ? 'zh' : 'en';
}
