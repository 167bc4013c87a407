import { createResource, createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import type { RegionPart } from '@geo/alerting';
import type { RegionMetrics } from '@geo/insight';
import { navigate } from '../lib/router.tsx';
import { GeoMap, type Viewport } from '../map/index.ts';
import { loadAreas } from '../bigdata/send/area-picker.tsx';
import { bt } from '../bigdata/zh-CN.ts';
import { ageOption, dwellOption, EChart, fmtCount, genderOption, originOption, seriesOption } from './charts.tsx';
import { heatCells, Kpis } from './heatmap-page.tsx';

interface ActiveTask {
  id: string;
  subject: string;
  alertTypeLabel: string;
  stateLabel: string;
  progress: { matched?: number; carriers?: Record<string, { sent: number }> } | null;
}

/** The region in the address (`?region={"parts":[…]}`), else Hangzhou. */
function regionFromUrl(): { parts: RegionPart[] } {
  try {
    const r = JSON.parse(new URLSearchParams(location.search).get('region') ?? '') as { parts: RegionPart[] };
    if (Array.isArray(r.parts) && r.parts.length) return r;
  } catch {
    // fall through to the default
  }
  return { parts: [{ kind: 'admin', code: '330100', name: '杭州市' }] };
}

/**
 * 可视化大屏: a 1920×1080 dashboard of one region, refreshing itself over Server-Sent Events
 * (`/api/insight/live`): headline figures, charts, the heat map and active alert tasks, in type
 * large enough to read across a room.
 */
export function BigScreen() {
  const region = regionFromUrl();
  const [m, setM] = createSignal<RegionMetrics>();
  const [tasks, setTasks] = createSignal<ActiveTask[]>([]);
  const [failure, setFailure] = createSignal('');
  const [now, setNow] = createSignal(new Date());
  const [names] = createResource(async () => new Map((await loadAreas()).map((a) => [a.code, a.name])));
  const title = () => region.parts.map((p) => (p.kind === 'admin' ? (p.name ?? names()?.get(p.code) ?? p.code) : '自定义区域')).join('、');
  let mapEl!: HTMLDivElement;
  let map: GeoMap | undefined;
  let view: Viewport | undefined;

  onMount(() => {
    const es = new EventSource(`/api/insight/live?region=${encodeURIComponent(JSON.stringify(region))}&intervalS=5`);
    es.addEventListener('metrics', (e) => {
      const d = JSON.parse((e as MessageEvent).data) as { metrics: RegionMetrics; tasks: ActiveTask[] };
      setM(d.metrics);
      setTasks(d.tasks);
      setFailure('');
      if (view)
        void heatCells(view).then(
          (c) => map?.setHexagons(c),
          () => undefined,
        );
    });
    es.addEventListener('failure', (e) => setFailure((JSON.parse((e as MessageEvent).data) as { message: string }).message));
    map = new GeoMap(mapEl, { theme: 'dark', zoom: 9 });
    map.on('viewport', (v) => (view = v));
    map.on('ready', () => {
      void map!.setHighlightAreas(region.parts.filter((p) => p.kind === 'admin').map((p) => (p as { code: string }).code));
      map!.setOverlayParts(region.parts.filter((p) => p.kind !== 'admin'));
      // The whole region in view, then its cells (the `viewport` event has set `view` by then).
      void map!.fitRegion(region.parts).then((fitted) => {
        if (!fitted) {
          const b = map!.map.getBounds();
          view = { bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom: map!.map.getZoom() };
        }
        if (view)
          void heatCells(view).then(
            (c) => map?.setHexagons(c),
            () => undefined,
          );
      });
    });
    const clock = setInterval(() => setNow(new Date()), 1000);
    onCleanup(() => (es.close(), clearInterval(clock), map?.destroy()));
  });

  return (
    <div class="screen" data-testid="big-screen">
      <header>
        <h1>{title()} · 实时人口态势</h1>
        <span class="clock">{now().toLocaleString('zh-CN', { hour12: false })}</span>
      </header>
      <button type="button" class="exit" onClick={() => navigate('/insight')}>
        {bt.insight.exitScreen}
      </button>
      <div class="col">
        <div class="panel">
          <h2>{bt.insight.population}</h2>
          <div class="big" classList={{ suppressed: !!m()?.population.total.suppressed }} data-testid="screen-population">
            {fmtCount(m()?.population.total, m()?.k)}
          </div>
          <Show when={failure()}>
            <p class="small">
              {bt.insight.unavailable}：{failure()}
            </p>
          </Show>
        </div>
        <Kpis m={m()} />
        <div class="panel">
          <h2>{bt.insight.origin}</h2>
          <EChart dark option={() => m() && originOption(m()!, names() ?? new Map(), true)} />
        </div>
      </div>
      <div class="col">
        <div class="bd-map" ref={mapEl} />
      </div>
      <div class="col">
        <div class="panel">
          <h2>{bt.insight.series}</h2>
          <EChart dark option={() => m() && seriesOption(m()!, true)} />
        </div>
        <div class="panel">
          <h2>
            {bt.insight.dwell} / {bt.insight.gender}
          </h2>
          <div class="pair">
            <EChart dark option={() => m() && dwellOption(m()!, true)} class="echart half" />
            <EChart dark option={() => m() && genderOption(m()!, true)} class="echart half" />
          </div>
        </div>
        <div class="panel">
          <h2>{bt.insight.age}</h2>
          <EChart dark option={() => m() && ageOption(m()!, true)} />
        </div>
        <div class="panel">
          <h2>{bt.insight.activeTasks}</h2>
          <table>
            <tbody>
              <For
                each={tasks()}
                fallback={
                  <tr>
                    <td>—</td>
                  </tr>
                }
              >
                {(t) => (
                  <tr>
                    <td>{t.alertTypeLabel}</td>
                    <td>{t.subject}</td>
                    <td>{t.stateLabel}</td>
                    <td>{Object.values(t.progress?.carriers ?? {}).reduce((s, c) => s + c.sent, 0)} 条</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </div>
    </div>
  );
}
