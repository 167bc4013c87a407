import { describe, expect, it } from 'vitest';
import { TaskForm } from '../task-form.ts';
import { capToForm, taskToCap } from './cap-map.ts';
import { readCap } from './cap-xml.ts';
import { capFixture, chinaDayIn } from './fixtures.ts';

const today = chinaDayIn(0);
const operational = {
  signature: '杭州应急',
  quota: { cmcc: { total: 1000, dailyCap: 800 } },
  authorizationLetter: 'letter-1',
  windows: [{ start: '07:00', end: '22:00' }],
  rules: [{ attribute: 'age', action: 'keep', min: 18, max: 80 }],
};

/** CAP text → the checked task form (with the fields CAP cannot carry supplied, as the import route does). */
function imported(xml: string, extra: Record<string, unknown> = operational): TaskForm {
  const r = readCap(xml);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const m = capToForm(r.alert, today);
  expect(m.issues).toEqual([]);
  return TaskForm.parse({ ...m.form, ...extra });
}
const exported = (form: TaskForm) => taskToCap({ id: 'bd-x', enterpriseId: 'ent-a', form, createdAt: null, submittedAt: null });

describe('CAP 1.2 ⇄ task form', () => {
  it('maps the typhoon alert: zh text is the SMS, other languages kept, areas as parts, expires as the end date', () => {
    const f = imported(capFixture('typhoon-alert'));
    expect(f.alertType).toBe('typhoon');
    expect(f.subject).toBe('台风“海葵”红色预警');
    expect(f.content).toBe('台风“海葵”预计今夜在我市沿海登陆，最大风力 14 级。\n请关好门窗，非必要不外出，远离广告牌和危旧建筑。');
    expect(f.region.parts).toEqual([
      { kind: 'admin', code: '330106', name: '西湖区' },
      {
        kind: 'polygon',
        rings: [
          [
            [120.1, 30.2],
            [120.3, 30.2],
            [120.3, 30.3],
            [120.1, 30.3],
            [120.1, 30.2],
          ],
        ],
      },
      { kind: 'circle', center: [120.4344, 30.2295], radiusM: 5000 },
    ]);
    expect([f.startDate, f.endDate]).toEqual([today, chinaDayIn(1)]);
    expect(f.texts).toEqual([
      {
        language: 'en-US',
        subject: 'Typhoon Haikui: red warning',
        content:
          'Typhoon Haikui is expected to make landfall on the coast tonight, winds up to force 14.\nClose doors and windows and stay indoors.',
      },
      { language: 'ja-JP', subject: '台風警報', content: '台風が今夜上陸する見込みです。外出を控えてください。' },
    ]);
    expect(f.cap).toMatchObject({ sender: 'zj-emergency@hangzhou.gov.cn', identifier: '33000041600000_20261207080000' });
    expect(f.cap!.refs).toEqual([`zj-emergency@hangzhou.gov.cn,33000041600000_20261207080000,${today}T08:00:00+08:00`]);
  });

  it('maps a rainstorm with two polygons and a circle (ignoring a non-GB/T 2260 geocode), onset as start', () => {
    const f = imported(capFixture('rainstorm-polygons'));
    expect(f.alertType).toBe('rainstorm');
    expect(f.subject).toBe('暴雨橙色预警');
    expect(f.region.parts.map((p) => p.kind)).toEqual(['polygon', 'polygon', 'circle']);
    expect(f.region.parts[2]).toEqual({ kind: 'circle', center: [119.95, 30.05], radiusM: 3500 });
    expect([f.startDate, f.endDate]).toEqual([today, today]);
  });

  it('says what is missing: no Chinese info, an area with nothing usable, a bad GB/T 2260 code', () => {
    const noZh = readCap(capFixture('typhoon-alert').replace('<language>zh-CN</language>', '<language>fr-FR</language>'));
    expect(noZh.ok && capToForm(noZh.alert, today).issues).toEqual([{ path: 'alert.info', message: expect.stringContaining('中文') }]);
    const odd = readCap(
      capFixture('typhoon-alert')
        .replace('<valueName>GB/T 2260</valueName><value>330106</value>', '<valueName>FIPS</valueName><value>06113</value>')
        .replace(/<circle>[^<]+<\/circle>/, '<geocode><valueName>GB/T 2260</valueName><value>33</value></geocode>'),
    );
    expect(odd.ok && capToForm(odd.alert, today).issues).toEqual([
      { path: 'alert.info[0].area[0]', message: expect.stringContaining('GB/T 2260') },
      { path: 'alert.info[0].area[2].geocode[0].value', message: expect.stringContaining('6 位数字') },
      { path: 'alert.info[0].area[2]', message: expect.stringContaining('没有可用的范围') },
    ]);
  });

  it('round-trips: import → export → import gives the same task, for every fixture alert', () => {
    for (const name of ['typhoon-alert', 'rainstorm-polygons'] as const) {
      const first = imported(capFixture(name));
      const xml = exported(first);
      expect(readCap(xml).ok, xml).toBe(true);
      expect(imported(xml, {})).toEqual(first);
    }
  });

  it('round-trips what CAP areas cannot say: holes, multipolygons, rectangles, polylines, an edge buffer (geo-alert:region)', () => {
    const first = imported(capFixture('typhoon-alert'), {
      ...operational,
      region: {
        edgeBufferM: 50,
        parts: [
          {
            type: 'Polygon',
            coordinates: [
              [
                [120, 30],
                [120.2, 30],
                [120.2, 30.2],
                [120, 30],
              ],
              [
                [120.1, 30.05],
                [120.15, 30.05],
                [120.15, 30.1],
                [120.1, 30.05],
              ],
            ],
          },
          { kind: 'rectangle', west: 120.3, south: 30.1, east: 120.4, north: 30.2 },
          {
            kind: 'polyline',
            path: [
              [120.5, 30.1],
              [120.6, 30.2],
            ],
            bufferM: 200,
          },
        ],
      },
    });
    const xml = exported(first);
    expect(xml).toContain('geo-alert:region');
    expect(imported(xml, {})).toEqual(first);
  });

  it('exports a console task (no CAP origin) as a valid CAP alert that imports as the same task', () => {
    const form = TaskForm.parse({
      alertType: 'fire',
      region: { parts: [{ kind: 'admin', code: '330102', name: '上城区' }] },
      subject: '火情提醒',
      content: '附近发生火情 & 请勿围观 <注意>',
      startDate: today,
      endDate: chinaDayIn(1),
      frequency: 'daily',
      ...operational,
    });
    const xml = exported(form);
    const back = readCap(xml);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(back.alert).toMatchObject({ identifier: 'bd-x', sender: 'ent-a.geo-alert', msgType: 'Alert', status: 'Actual' });
    expect(back.alert.info[0]).toMatchObject({ language: 'zh-CN', category: ['Fire'], event: '火灾', description: form.content });
    const { cap: _cap, ...again } = TaskForm.parse(capToForm(back.alert, today).form);
    expect(again).toEqual(form);
  });

  it('exports a console task with an English text (no subject, as the send page writes it) as a valid CAP alert that imports as the same task', () => {
    // (The English text comes back with its info's event as its subject, as any info without a headline.)
    const form = TaskForm.parse({
      alertType: 'rainstorm',
      region: { parts: [{ kind: 'admin', code: '330102', name: '上城区' }] },
      subject: '上城区暴雨',
      content: '今夜特大暴雨，请勿外出。',
      texts: [{ language: 'en-US', content: 'Heavy rainstorm tonight, stay indoors.' }],
      startDate: today,
      endDate: today,
      frequency: 'once',
      ...operational,
    });
    const xml = exported(form);
    // An empty <headline/> was written for the English info, which CAP 1.2 (and our import) refuses.
    expect(xml).not.toContain('<headline></headline>');
    const back = readCap(xml);
    expect(back.ok ? [] : back.issues).toEqual([]);
    if (!back.ok) return;
    expect(back.alert.info[1]).toMatchObject({ language: 'en-US', description: 'Heavy rainstorm tonight, stay indoors.' });
    const { cap: _cap, ...again } = TaskForm.parse({ ...capToForm(back.alert, today).form, ...operational });
    expect(again).toEqual({ ...form, texts: [{ ...form.texts![0], subject: back.alert.info[1]!.event }] });
  });

  it('imports an Exercise or Test alert as an exercise (演练), and exports an exercise as status Exercise that imports as the same task', () => {
    for (const status of ['Exercise', 'Test']) {
      const f = imported(capFixture('typhoon-alert').replace('<status>Actual</status>', `<status>${status}</status>`));
      expect(f.exercise, status).toBe(true);
      const xml = exported(f);
      expect(xml).toContain(`<status>${status}</status>`);
      expect(imported(xml, {})).toEqual(f);
    }
    const real = imported(capFixture('typhoon-alert'));
    expect(real.exercise).toBeUndefined();
    // A console exercise (no CAP origin) goes out as an Exercise, never as an Actual alert.
    const { cap: _c, ...console } = real;
    expect(exported({ ...console, exercise: true })).toContain('<status>Exercise</status>');
    expect(exported(console)).toContain('<status>Actual</status>');
  });
});
