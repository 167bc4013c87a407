import type { RegionMetrics } from '@geo/insight';
import { bt } from '../bigdata/zh-CN.ts';
import { insightText } from './zh-CN.ts';

/** The insight charts' echarts options, built from a `RegionMetrics` answer (no DOM: unit-tested). */

type Count = { value: number | null; suppressed: boolean };

/** A count as people read it: the number, or "<k" when fewer than k people (never a fake zero). */
export const fmtCount = (c: Count | undefined, k = 10) => (!c ? '—' : c.suppressed ? `<${k}` : (c.value ?? 0).toLocaleString('zh-CN'));
/** For charts: a suppressed count draws as nothing (null), and its label says so. */
const val = (c: Count) => (c.suppressed ? null : c.value);

/** Names of GB/T codes: Zhejiang's areas by name, other places by province. */
export function codeName(code: string, names: Map<string, string>): string {
  const province = insightText.provinces[code.slice(0, 2)];
  return names.get(code) ?? (province ? insightText.placeName(province, code.endsWith('0000') ? undefined : code) : code);
}

const AGE_LABEL: Record<string, string> = { unknown: bt.insight.unknown };
const GENDER_LABEL: Record<string, string> = { m: bt.insight.male, f: bt.insight.female, unknown: bt.insight.unknown };
const DWELL_LABEL: Record<string, string> = insightText.dwell;

/**
 * `dark` is the big screen's look. There the privacy notes are not drawn in the canvases: a canvas
 * text is not laid out with the page, and on the wall the 24-hour note sat on the axis labels and
 * the donut's was cut at both ends (#23). The screen says the rule once, in its own text.
 */
/**
 * On the wall the canvas text is the screen's own type size (`px`, its CSS font size: 18 px at
 * 1920×1080, 36 at 3840×2160), not a fixed 16 px that was a quarter of the page's headings on a 4K
 * wall (#23 walk); the axes make room for their labels at any size.
 */
const text = (dark?: boolean, px = 16) => ({ color: dark ? '#cfe0ff' : '#333', fontSize: dark ? px : 12 });
const bg = { backgroundColor: 'transparent' };
const grid = (dark: boolean | undefined, light: Record<string, number>, px = 16) =>
  dark ? { left: px / 2, right: px, top: px * 1.2, bottom: px / 2, containLabel: true } : light;

export const dwellOption = (m: RegionMetrics, dark?: boolean, px?: number) => ({
  ...bg,
  tooltip: {},
  grid: grid(dark, { left: 50, right: 10, top: 20, bottom: 30 }, px),
  xAxis: { type: 'category', data: m.dwell.map((d) => DWELL_LABEL[d.bucket] ?? d.bucket), axisLabel: text(dark, px) },
  yAxis: { type: 'value', axisLabel: text(dark, px), ...(dark ? { splitNumber: 3 } : {}) },
  series: [{ type: 'bar', data: m.dwell.map((d) => val(d.count)), itemStyle: { color: '#2f7de1' } }],
});

// Suppressed and empty categories look the same (the API shows both as suppressed): the donut draws
// only the categories of at least k people and says that others are hidden, not which.
// On the wall the labels beside the ring did not fit its half panel: only their lines showed, the
// words were cut off (#23 walk). There the ring draws no outside label; the legend gives each share.
export const genderOption = (m: RegionMetrics, dark?: boolean, px?: number) => {
  const data = m.portrait.gender.filter((g) => !g.count.suppressed).map((g) => ({ name: GENDER_LABEL[g.gender]!, value: g.count.value! }));
  const sum = data.reduce((n, d) => n + d.value, 0);
  const share = (name: string) => {
    const d = data.find((x) => x.name === name);
    return d && sum ? insightText.share(name, Math.round((d.value / sum) * 100)) : name;
  };
  return {
    ...bg,
    tooltip: {},
    title:
      !dark && m.portrait.gender.some((g) => g.count.suppressed)
        ? { subtext: insightText.hiddenCategories(m.k), left: 'center', top: 0, subtextStyle: text(dark) }
        : undefined,
    legend: { bottom: 0, textStyle: text(dark, px), ...(dark ? { formatter: share, itemWidth: px, itemHeight: px ? px * 0.7 : 14 } : {}) },
    series: [
      {
        type: 'pie',
        radius: dark ? ['35%', '62%'] : ['40%', '68%'],
        center: dark ? ['50%', '42%'] : ['50%', '50%'],
        label: dark ? { show: false } : text(dark),
        labelLine: { show: !dark },
        data,
      },
    ],
  };
};

export const ageOption = (m: RegionMetrics, dark?: boolean, px?: number) => ({
  ...bg,
  tooltip: {},
  grid: grid(dark, { left: 50, right: 10, top: 20, bottom: 30 }, px),
  xAxis: { type: 'category', data: m.portrait.age.map((a) => AGE_LABEL[a.band] ?? a.band), axisLabel: text(dark, px) },
  yAxis: { type: 'value', axisLabel: text(dark, px), ...(dark ? { splitNumber: 3 } : {}) },
  series: [{ type: 'bar', data: m.portrait.age.map((a) => val(a.count)), itemStyle: { color: '#26b5a0' } }],
});

export const originOption = (m: RegionMetrics, names: Map<string, string>, dark?: boolean) => {
  const rows = [
    ...m.origin.cities.map((c) => ({ name: codeName(c.code, names), count: c.count })),
    { name: insightText.other, count: m.origin.otherCities },
  ].reverse();
  return {
    ...bg,
    tooltip: {},
    grid: { left: 110, right: 20, top: 10, bottom: 20 },
    xAxis: { type: 'value', axisLabel: text(dark) },
    yAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: text(dark) },
    series: [
      {
        type: 'bar',
        data: rows.map((r) => val(r.count)),
        itemStyle: { color: '#f0a030' },
        label: {
          show: true,
          position: 'right',
          ...text(dark),
          formatter: (p: { dataIndex: number }) => fmtCount(rows[p.dataIndex]!.count, m.k),
        },
      },
    ],
  };
};

export const seriesOption = (m: RegionMetrics, dark?: boolean, px?: number) => ({
  ...bg,
  tooltip: { trigger: 'axis' },
  legend: { top: 0, textStyle: text(dark, px), ...(dark && px ? { itemWidth: px * 1.4, itemHeight: px * 0.7 } : {}) },
  title:
    !dark && m.series.day.some((p) => p.population.suppressed || p.inflow.suppressed || p.outflow.suppressed)
      ? { subtext: insightText.seriesGaps(m.k), right: 10, bottom: 0, subtextStyle: { ...text(dark), fontSize: 11 } }
      : undefined,
  grid: dark ? { ...grid(dark, {}, px), top: (px ?? 16) * 2 } : { left: 50, right: 20, top: 30, bottom: 30 },
  xAxis: {
    type: 'category',
    data: m.series.day.map((p) => new Date(p.t).toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit', hour12: false })),
    axisLabel: text(dark, px),
  },
  yAxis: { type: 'value', axisLabel: text(dark, px), ...(dark ? { splitNumber: 3 } : {}) },
  series: [
    // connectNulls: false — a suppressed point is a gap, never a line drawn down to 0.
    {
      name: bt.insight.population,
      type: 'line',
      smooth: true,
      showSymbol: false,
      connectNulls: false,
      data: m.series.day.map((p) => val(p.population)),
    },
    {
      name: insightText.inflow,
      type: 'line',
      smooth: true,
      showSymbol: false,
      connectNulls: false,
      data: m.series.day.map((p) => val(p.inflow)),
    },
    {
      name: insightText.outflow,
      type: 'line',
      smooth: true,
      showSymbol: false,
      connectNulls: false,
      data: m.series.day.map((p) => val(p.outflow)),
    },
  ],
});
