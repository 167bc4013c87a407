import { createEffect, onCleanup, onMount } from 'solid-js';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, CanvasRenderer]);

export { ageOption, codeName, dwellOption, fmtCount, genderOption, originOption, seriesOption } from './chart-options.ts';

/** An echarts chart that follows its option signal and its box size. */
export function EChart(props: { option: () => echarts.EChartsCoreOption | undefined; dark?: boolean; class?: string; testid?: string }) {
  let el!: HTMLDivElement;
  let chart: echarts.ECharts | undefined;
  onMount(() => {
    chart = echarts.init(el, props.dark ? 'dark' : undefined, { renderer: 'canvas' });
    const ro = new ResizeObserver(() => chart?.resize());
    ro.observe(el);
    onCleanup(() => (ro.disconnect(), chart?.dispose()));
  });
  createEffect(() => {
    const o = props.option();
    if (o && chart) chart.setOption(o, { notMerge: false, lazyUpdate: true });
  });
  return <div ref={el} class={props.class ?? 'echart'} data-testid={props.testid} />;
}
