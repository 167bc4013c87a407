import { describe, expect, it } from 'vitest';
import { SmsJobBatch, jobsOfBatch } from '@geo/messaging';
import { languageCode } from '@geo/ingest';
import { alertJob, languageFor, textLanguageOf } from './alert-job.ts';
import { countMessage, encodeJobBatch } from '@geo/messaging';
import { AlertTask, AlertTaskSpec, exercisePrefix, smsContent, smsSignature } from '../contract.ts';
import { circleTask } from '../testing/engine-kit.ts';

const decode = (bytes: Uint8Array) => jobsOfBatch(SmsJobBatch.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))));

describe('the SMS job of an alert', () => {
  const task: AlertTask = {
    id: 't-1',
    version: 1,
    state: 'running',
    updatedAt: 1,
    spec: AlertTaskSpec.parse(circleTask([116.4, 39.9], 1000, { alertType: 'typhoon' })),
  };

  it('carries the task’s alert type, so that messaging can limit chosen types (a drill)', () => {
    const j = alertJob(task, '13800000000', 'cmcc', 'alert:t-1:13800000000', 1_795_636_405_277);
    expect(j).toMatchObject({ source: 'alert', sendId: 't-1', alertType: 'typhoon', msisdn: '13800000000', carrier: 'cmcc' });
  });

  it('keeps the alert type through the batch encoding messaging decodes', () => {
    const jobs = ['13800000000', '13800000001'].map((m) => alertJob(task, m, 'cucc', `alert:t-1:${m}`, 1_795_636_405_277));
    const r = decode(encodeJobBatch(jobs));
    expect(r.ok && r.jobs.map((j) => j.alertType)).toEqual(['typhoon', 'typhoon']);
  });

  it('sends a task asking for check-in answers from its reply extension, through the batch encoding too (#21)', () => {
    const checkIn: AlertTask = { ...task, spec: { ...task.spec, replyExtension: '90001' } };
    const jobs = ['13800000000', '13800000001'].map((m) => alertJob(checkIn, m, 'cmcc', `alert:t-1:${m}`, 1_795_636_405_277));
    const r = decode(encodeJobBatch(jobs));
    expect(r.ok && r.jobs.map((j) => j.extension)).toEqual(['90001', '90001']);
    expect(alertJob(task, '13800000000', 'cmcc', 'alert:t-1:13800000000', 1).extension).toBeUndefined();
  });
});

describe('an exercise (演练)', () => {
  const base = AlertTaskSpec.parse(circleTask([116.4, 39.9], 1000, { alertType: 'typhoon', content: '台风演练：请按预案撤离。' }));
  const drill: AlertTask = { id: 't-2', version: 1, state: 'running', updatedAt: 1, spec: { ...base, exercise: true } };

  it('begins every SMS with the mandatory 【演练】, before the text and after the signature messaging adds', () => {
    const j = alertJob(drill, '13800000000', 'cmcc', 'alert:t-2:13800000000', 1_795_636_405_277);
    expect(j.content).toBe('【演练】台风演练：请按预案撤离。');
  });

  it('leaves a real alert’s text as it is', () => {
    const j = alertJob({ ...drill, spec: base }, '13800000000', 'cmcc', 'alert:t-2:13800000000', 1_795_636_405_277);
    expect(j.content).toBe('台风演练：请按预案撤离。');
  });

  it('counts the prefix in the billing count (【应急】 and 64 characters fit one SMS; with 【演练】 they need two)', () => {
    const content = '台'.repeat(64);
    const real = countMessage('应急', content);
    const exercise = countMessage('应急', smsContent({ content, exercise: true }));
    expect(real.ok && real.segments).toBe(1);
    expect(exercise.ok && exercise.segments).toBe(2);
  });
});

describe('the language of a person’s SMS', () => {
  const bilingual = { content: '台风预警：今夜请勿外出。', contents: { en: 'Typhoon warning: stay indoors tonight.' } };
  it.each([
    ['a local with no language in the profile', { home: '330100' }, 'zh'],
    ['a person the carrier knows nothing of', {}, 'zh'],
    ['a Chinese-speaking profile', { lang: 'zh' }, 'zh'],
    ['a Chinese profile with a region subtag', { lang: 'zh-HK' }, 'zh'],
    ['a roaming-in English speaker', { lang: 'en' }, 'en'],
    ['a roaming-in foreigner of another language (English is the lingua franca)', { lang: 'ja' }, 'en'],
    ['a roaming-in foreigner, language in capitals', { lang: 'FR' }, 'en'],
  ] as const)('%s gets %s', (_what, person, lang) => {
    expect(languageFor(bilingual, person)).toBe(lang);
  });

  it('gives everyone Chinese when the task has no English text', () => {
    expect(languageFor({ content: '台风预警' }, { lang: 'en' })).toBe('zh');
  });

  it('builds the job in the chosen language, behind the exercise prefix', () => {
    const spec = AlertTaskSpec.parse(circleTask([116.4, 39.9], 1000, { ...bilingual, exercise: true }));
    const t: AlertTask = { id: 't-3', version: 1, state: 'running', updatedAt: 1, spec };
    const en = alertJob(t, '13800000000', 'cmcc', 'j', 1, languageFor(t.spec, { lang: 'en' }));
    const zh = alertJob(t, '13800000001', 'cmcc', 'j', 1, languageFor(t.spec, { home: '330100' }));
    expect(en.content).toBe('[EXERCISE] Typhoon warning: stay indoors tonight.');
    expect(zh.content).toBe('【演练】台风预警：今夜请勿外出。');
  });

  it('marks an English exercise [EXERCISE], which keeps it GSM-7: 160 septets in one SMS, where 【演练】 made it UCS-2 in three', () => {
    // 133 letters: [EXERCISE] (11 characters, 13 septets: [ and ] are escapes) + 133 + [EMA] (7) = 153.
    const en = 'Typhoon drill: go to the nearest shelter now. '.repeat(3).slice(0, 133);
    const spec = AlertTaskSpec.parse(
      circleTask([116.4, 39.9], 1000, { content: '台风演练', contents: { en }, signatures: { en: 'EMA' }, exercise: true }),
    );
    const t: AlertTask = { id: 't-4', version: 1, state: 'running', updatedAt: 1, spec };
    const j = alertJob(t, '13800000000', 'cmcc', 'j', 1, 'en');
    expect(j.content).toBe(`[EXERCISE] ${en}`);
    expect(countMessage(j.signature, j.content)).toMatchObject({ ok: true, encoding: 'gsm7', segments: 1 });
    expect(countMessage(j.signature, `【演练】${en}`)).toMatchObject({ ok: true, encoding: 'ucs2', segments: 3 });
  });

  it('puts 【演练】 before the Chinese text an English reader gets when the task has no English one', () => {
    expect(smsContent({ content: '台风演练', exercise: true }, 'en')).toBe('【演练】台风演练');
    expect(exercisePrefix('en')).toBe('[EXERCISE] ');
    expect(exercisePrefix('zh')).toBe('【演练】');
  });
});

describe('the language by a profile’s one-byte code, as presence keeps it (#21)', () => {
  const bilingual = { content: '台风预警：今夜请勿外出。', contents: { en: 'Typhoon warning: stay indoors tonight.' } };
  it.each([
    ['unknown', undefined, 'zh'],
    ['Chinese', 'zh', 'zh'],
    ['English', 'en', 'en'],
    ['Japanese (no Japanese text: English)', 'ja', 'en'],
  ] as const)('a profile in %s gets %s, as languageFor says', (_what, lang, text) => {
    expect(textLanguageOf(bilingual, languageCode(lang))).toBe(text);
    expect(languageFor(bilingual, { lang })).toBe(text);
    expect(textLanguageOf({}, languageCode(lang))).toBe('zh');
  });

  it('signs the English job with the task’s Latin signature, so messaging sends it as GSM-7: 160 septets one SMS', () => {
    // [Hangzhou EMA] is 16 septets (a bracket costs two): 144 letters more make 160.
    const en = 'a'.repeat(144);
    const spec = AlertTaskSpec.parse(
      circleTask([116.4, 39.9], 1000, { content: '台风', contents: { en }, signatures: { en: 'Hangzhou EMA' } }),
    );
    const t: AlertTask = { id: 't-4', version: 1, state: 'running', updatedAt: 1, spec };
    const j = alertJob(t, '13800000000', 'cmcc', 'j', 1, 'en');
    expect(j.signature).toBe('Hangzhou EMA');
    expect(countMessage(j.signature, j.content)).toMatchObject({ ok: true, chars: 158, segments: 1, encoding: 'gsm7' });
    expect(countMessage(j.signature, j.content + 'a')).toMatchObject({ ok: true, segments: 2, encoding: 'gsm7' });
    expect(alertJob(t, '13800000000', 'cmcc', 'j', 1, 'zh').signature).toBe(spec.signature);
    // Without a Latin signature the English text is UCS-2: three SMS.
    const plain = alertJob({ ...t, spec: { ...spec, signatures: undefined } }, '13800000000', 'cmcc', 'j', 1, 'en');
    expect(countMessage(plain.signature, plain.content)).toMatchObject({ ok: true, segments: 3, encoding: 'ucs2' });
  });

  it('signs with the English signature only the English text: a Chinese body sent to an English reader keeps the Chinese one', () => {
    // A task whose English text was taken away (or never given) but which still names signatures.en:
    // the reader gets the Chinese body, signed as the Chinese SMS is, not 【Chinese body】 under [EMA].
    const spec = AlertTaskSpec.parse(circleTask([116.4, 39.9], 1000, { content: '台风预警', signatures: { en: 'EMA' } }));
    const t: AlertTask = { id: 't-5', version: 1, state: 'running', updatedAt: 1, spec };
    const j = alertJob(t, '13800000000', 'cmcc', 'j', 1, 'en');
    expect(j).toMatchObject({ content: '台风预警', signature: spec.signature });
    expect(smsSignature(spec, 'en')).toBe(spec.signature);
    expect(smsSignature({ ...spec, contents: { en: 'Typhoon' } }, 'en')).toBe('EMA');
    expect(smsSignature({ ...spec, contents: { en: 'Typhoon' } }, 'zh')).toBe(spec.signature);
  });
});
