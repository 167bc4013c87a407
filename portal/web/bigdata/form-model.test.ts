import { describe, expect, it } from 'vitest';
import { emptyForm, errorsStillStanding, fromPayload, toPayload, valueAt } from './form-model.ts';

describe('errors of the big-data send form', () => {
  const submitted = toPayload({
    ...emptyForm('2026-12-09'),
    subject: '',
    quota: { ...emptyForm('').quota, cmcc: { on: true, total: 10, dailyCap: 20 } },
  });
  const errs = {
    subject: '请填写发送主题',
    'quota.cmcc.dailyCap': '日下发上限不能大于发送总条数',
    region: '请选择或绘制区域',
    form: '请按提示修改标红的项目',
  };

  it('reads the value an error path names', () => {
    expect(valueAt(submitted, 'quota.cmcc.dailyCap')).toBe(20);
    expect(valueAt(submitted, 'region.parts')).toEqual([]);
    expect(valueAt(submitted, 'rules.3.min')).toBeUndefined();
  });

  it('clears only the error of the field that changed', () => {
    const now = { ...submitted, subject: '台风' };
    expect(errorsStillStanding(errs, submitted, now)).toEqual({
      'quota.cmcc.dailyCap': errs['quota.cmcc.dailyCap'],
      region: errs.region,
      form: errs.form,
    });
  });

  it('clears a nested error when its field changes and a parent error when anything below it does', () => {
    const now = { ...submitted, quota: { cmcc: { total: 10, dailyCap: 5 } }, region: { parts: [{ kind: 'admin', code: '330106' }] } };
    expect(errorsStillStanding(errs, submitted, now)).toEqual({ subject: errs.subject, form: errs.form });
  });

  it('keeps every error while nothing changed', () => {
    expect(errorsStillStanding(errs, submitted, structuredClone(submitted))).toEqual(errs);
  });
});

describe('the send form’s exercise box and English text', () => {
  it('sends the English text first among the texts and keeps a CAP alert’s other languages through a draft', () => {
    const saved = {
      exercise: true,
      texts: [
        { language: 'ja-JP', content: '台風警報' },
        { language: 'en-US', content: 'Typhoon warning' },
      ],
    };
    const f = fromPayload(saved, '2026-12-09');
    expect(f).toMatchObject({ exercise: true, english: 'Typhoon warning', otherTexts: [{ language: 'ja-JP', content: '台風警報' }] });
    const p = toPayload({ ...f, english: 'Typhoon warning: stay indoors' });
    expect(p.exercise).toBe(true);
    expect(p.texts).toEqual([
      { language: 'en-US', content: 'Typhoon warning: stay indoors' },
      { language: 'ja-JP', content: '台風警報' },
    ]);
    expect(toPayload({ ...f, english: '  ' }).texts).toEqual([{ language: 'ja-JP', content: '台風警報' }]);
    expect(fromPayload({}, '2026-12-09')).toMatchObject({ exercise: false, english: '', otherTexts: [] });
  });
});

describe('the send form’s check-in (回复报平安)', () => {
  it('sends the answers only when asked for, and keeps them through a draft', () => {
    const checkIn = {
      options: [
        { code: '1', label: '安全' },
        { code: '2', label: '需要帮助', help: true },
      ],
    };
    expect('checkIn' in toPayload(emptyForm('2026-12-09'))).toBe(false);
    const p = toPayload({ ...emptyForm('2026-12-09'), checkIn });
    expect(p.checkIn).toEqual(checkIn);
    expect(fromPayload(p, '2026-12-09').checkIn).toEqual(checkIn);
  });
});
