import { describe, expect, it } from 'vitest';
import type { RegionMetrics } from '@geo/insight';
import { codeName, genderOption, seriesOption } from './chart-options.ts';

const hidden = { value: null, suppressed: true };
const shown = (value: number) => ({ value, suppressed: false });

describe('insight charts (issue 18: suppressed categories look like empty ones)', () => {
  const m = {
    k: 10,
    portrait: {
      gender: [
        { gender: 'm', count: hidden },
        { gender: 'f', count: shown(40) },
        { gender: 'unknown', count: hidden },
      ],
    },
    series: {
      day: [
        { t: '2026-12-06T00:00:00Z', population: shown(30), inflow: hidden, outflow: shown(12) },
        { t: '2026-12-06T00:05:00Z', population: hidden, inflow: hidden, outflow: hidden },
      ],
    },
  } as unknown as RegionMetrics;

  it('draws only the genders of at least k people and says that others are hidden, not which', () => {
    const o = genderOption(m);
    expect(o.series[0]!.data.map((d) => d.value)).toEqual([40]);
    expect(JSON.stringify(o.title)).toContain('各基站小区每类人数按 10 人取整（少于 10 人计 0），保护个人位置隐私');
    expect(JSON.stringify(o.title)).not.toMatch(/男|未知/);
  });

  it('leaves a suppressed point of the 24-hour lines as a gap, never 0', () => {
    const o = seriesOption(m);
    expect(o.series.map((s) => s.data)).toEqual([
      [30, null],
      [null, null],
      [12, null],
    ]);
    expect(o.series.every((s) => s.connectNulls === false)).toBe(true);
  });

  it('on the wall the donut draws no label outside its ring (only their lines showed at 1920×1080, #23 walk); the legend gives each share', () => {
    const both = {
      ...m,
      portrait: {
        gender: [
          { gender: 'm', count: shown(60) },
          { gender: 'f', count: shown(40) },
          { gender: 'unknown', count: hidden },
        ],
      },
    } as unknown as RegionMetrics;
    const o = genderOption(both, true, 18);
    expect(o.series[0]!.label).toEqual({ show: false });
    expect(o.series[0]!.labelLine).toEqual({ show: false });
    const legend = o.legend as { formatter: (name: string) => string };
    expect([legend.formatter('男'), legend.formatter('女')]).toEqual(['男 60%', '女 40%']);
    // The portal's own page keeps its labels beside the ring.
    expect(genderOption(both).series[0]!.labelLine).toEqual({ show: true });
  });

  it("on the wall the canvas text is the screen's type size (18 px at 1920 wide, 36 at 3840), and the axes make room for it", () => {
    for (const px of [18, 36]) {
      const o = seriesOption(m, true, px);
      expect([o.xAxis.axisLabel.fontSize, o.yAxis.axisLabel.fontSize, o.legend.textStyle.fontSize]).toEqual([px, px, px]);
      expect(o.grid).toMatchObject({ containLabel: true });
    }
    expect(seriesOption(m).xAxis.axisLabel.fontSize).toBe(12);
  });

  it('names a municipality as itself (上海市, not 上海（310100）); a Zhejiang area by its name', () => {
    expect(codeName('310100', new Map())).toBe('上海市');
    expect(codeName('500100', new Map())).toBe('重庆市');
    expect(codeName('330100', new Map([['330100', '杭州市']]))).toBe('杭州市');
    expect(codeName('310000', new Map())).toBe('上海');
  });

  it('on the big screen (dark) draws no note in the canvas: the screen says the rule once in its text', () => {
    expect(genderOption(m, true).title).toBeUndefined();
    expect(seriesOption(m, true).title).toBeUndefined();
    expect(JSON.stringify(seriesOption(m).title)).toContain('保护个人位置隐私');
  });
});
