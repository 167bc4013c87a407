import { LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { createEffect, onCleanup, onMount } from 'solid-js';
import { t } from '../i18n/zh-CN.ts';

echarts.use([LineChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

export interface TrendPoint {
  label: string;
  total: number;
  success: number;
  failed: number;
}

/** A line chart of total / success / failed with a tooltip per point (hover shows the three counts). */
export function TrendChart(props: { points: TrendPoint[]; testId: string }) {
  let el!: HTMLDivElement;
  let chart: echarts.ECharts | undefined;
  onMount(() => {
    chart = echarts.init(el);
    const ro = new ResizeObserver(() => chart?.resize());
    ro.observe(el);
    onCleanup(() => {
      ro.disconnect();
      chart?.dispose();
    });
  });
  createEffect(() => {
    const pts = props.points;
    chart?.setOption({
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => `${v} ${t.home.units}` },
      legend: { top: 0, data: [t.home.total, t.home.success, t.home.failed] },
      grid: { left: 50, right: 20, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: pts.map((p) => p.label), boundaryGap: false },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: t.home.total, type: 'line', smooth: true, data: pts.map((p) => p.total), itemStyle: { color: '#1f6fd1' } },
        { name: t.home.success, type: 'line', smooth: true, data: pts.map((p) => p.success), itemStyle: { color: '#1a9b5b' } },
        { name: t.home.failed, type: 'line', smooth: true, data: pts.map((p) => p.failed), itemStyle: { color: '#d23c3c' } },
      ],
    });
  });
  return <div class="chart" ref={el} data-testid={props.testId} data-total={props.points.reduce((s, p) => s + p.total, 0)} />;
}
