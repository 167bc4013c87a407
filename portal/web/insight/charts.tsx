import { createEffect, createSignal, onCleanup, onMount } from 'solid-js';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, CanvasRenderer]);

export { ageOption, codeName, dwellOption, fmtCount, genderOption, originOption, seriesOption } from './chart-options.ts';

/**
 * An echarts chart that follows its option signal and its box size. `option` gets the element's CSS
 * font size in pixels: the big screen's type grows with the window (`.screen` is sized in vw), and
 * canvas text does not follow CSS by itself. The size used is in `data-font-px`.
 */
export function EChart(props: {
  option: (px: number) => echarts.EChartsCoreOption | undefined;
  dark?: boolean;
  class?: string;
  testid?: string;
}) {
  let el!: HTMLDivElement;
  let chart: echarts.ECharts | undefined;
  const [px, setPx] = createSignal(16);
  const measure = () => setPx(Math.round(parseFloat(getComputedStyle(el).fontSize) || 16));
  onMount(() => {
    measure();
    chart = echarts.init(el, props.dark ? 'dark' : undefined, { renderer: 'canvas' });
    const ro = new ResizeObserver(() => (measure(), chart?.resize()));
    ro.observe(el);
    onCleanup(() => (ro.disconnect(), chart?.dispose()));
  });
  createEffect(() => {
    const o = props.option(px());
    if (o && chart) chart.setOption(o, { notMerge: false, lazyUpdate: true });
  });
  return <div ref={el} class={props.class ?? 'echart'} data-testid={props.testid} data-font-px={px()} />;
}
