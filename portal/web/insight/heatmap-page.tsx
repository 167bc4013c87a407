import { createEffect, createResource, createSignal, on, onCleanup, onMount, Show } from 'solid-js';
import type { RegionPart } from '@geo/alerting';
import type { RegionMetrics } from '@geo/insight';
import { ApiError, get, post } from '../lib/api.ts';
import { navigate } from '../lib/router.tsx';
import { GeoMap, heatmapCells, type DrawTool, type Viewport } from '../map/index.ts';
import { AreaPicker, loadAreas } from '../bigdata/send/area-picker.tsx';
import { bt } from '../bigdata/zh-CN.ts';
import { HysteresisField, type Hysteresis } from '../bigdata/hysteresis/hysteresis-field.tsx';
import { insightText } from './zh-CN.ts';
import { ageOption, dwellOption, EChart, fmtCount, genderOption, originOption, seriesOption } from './charts.tsx';

const REFRESH_MS = 10_000;

/** Cells of the viewport from insight (`/api/insight/heatmap`), suppressed cells as `null`. */
export async function heatCells(v: Viewport) {
  const h = await get<{ cells: { h3: string; count: { value: number | null } }[] }>(
    `/api/insight/heatmap?bbox=${v.bbox.map((x) => x.toFixed(5)).join(',')}&zoom=${v.zoom.toFixed(2)}`,
  );
  return heatmapCells(h);
}

/** A region as the big screen's address carries it, and the page's 边缘防抖 when set. */
export const screenHref = (parts: RegionPart[], hysteresis?: Hysteresis) =>
  `/insight/screen?region=${encodeURIComponent(JSON.stringify({ parts }))}` +
  (hysteresis ? `&hysteresis=${encodeURIComponent(JSON.stringify(hysteresis))}` : '');

export function Kpis(props: { m: RegionMetrics | undefined; without?: 'population' }) {
  const k = () => props.m?.k ?? 10;
  const item = (label: string, c: { value: number | null; suppressed: boolean } | undefined, id: string) => (
    <div class="kpi" data-kpi={id}>
      <div class="v" classList={{ suppressed: !!c?.suppressed }} title={c?.suppressed ? bt.insight.suppressedHint(k()) : ''}>
        {fmtCount(c, k())}
      </div>
      <div class="l">{label}</div>
    </div>
  );
  return (
    <div class="kpis">
      {item(bt.insight.weeklyMax, props.m?.weeklyMax.count, 'weeklyMax')}
      {props.without === 'population' ? null : item(bt.insight.population, props.m?.population.total, 'population')}
      {item(bt.insight.inflow, props.m?.flow.lastHour.inflow, 'inflow')}
      {item(bt.insight.outflow, props.m?.flow.lastHour.outflow, 'outflow')}
    </div>
  );
}

/** 大数据洞察-热力图: pick a region, see population per H3 cell and the region's live figures. */
export function HeatmapPage() {
  const [areas, setAreas] = createSignal<{ code: string; name: string }[]>([{ code: '330100', name: bt.insight.defaultRegionName }]);
  const [drawn, setDrawn] = createSignal<RegionPart[]>([]);
  const [tool, setTool] = createSignal<DrawTool | null>(null);
  const [metrics, setMetrics] = createSignal<RegionMetrics>();
  const [error, setError] = createSignal('');
  // 边缘防抖 (#21): inflow / outflow, their series and dwell count by alerting's rule when set.
  const [hysteresis, setHysteresis] = createSignal<Hysteresis | undefined>();
  // The hysteresis the shown figures were counted with (the caption says it), and the latest request:
  // an older answer arriving after a newer one (typing in the fields) is dropped.
  const [counted, setCounted] = createSignal<Hysteresis | undefined>();
  let asked = 0;
  const [names] = createResource(async () => new Map((await loadAreas()).map((a) => [a.code, a.name])));
  const parts = (): RegionPart[] => [...areas().map((a) => ({ kind: 'admin' as const, code: a.code, name: a.name })), ...drawn()];
  let mapEl!: HTMLDivElement;
  let map: GeoMap | undefined;
  let view: Viewport | undefined;

  const refreshCells = async () => {
    if (!view || !map) return;
    try {
      map.setHexagons(await heatCells(view));
    } catch {
      // The figures beside the map say what is wrong.
    }
  };
  const refreshMetrics = async () => {
    const p = parts();
    if (!p.length) return setMetrics(undefined);
    const h = hysteresis();
    const mine = ++asked;
    try {
      const m = await post<RegionMetrics>('/api/insight/metrics', { region: { parts: p }, ...(h ? { hysteresis: h } : {}) });
      if (mine !== asked) return;
      setMetrics(m);
      setCounted(h);
      setError('');
    } catch (e) {
      if (mine === asked) setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  onMount(() => {
    map = new GeoMap(mapEl, { draw: true, zoom: 8 });
    map.on('shapes', setDrawn);
    map.on('viewport', (v) => ((view = v), void refreshCells()));
    map.on('ready', () => {
      // The picked areas in view; the move's `viewport` event fetches their cells.
      void map!.fitRegion(parts()).then((fitted) => {
        if (fitted) return;
        const b = map!.map.getBounds();
        view = { bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom: map!.map.getZoom() };
        void refreshCells();
      });
    });
    const t = setInterval(() => (void refreshCells(), void refreshMetrics()), REFRESH_MS);
    onCleanup(() => (clearInterval(t), map?.destroy()));
  });
  createEffect(on([areas, drawn, hysteresis], () => (void map?.setHighlightAreas(areas().map((a) => a.code)), void refreshMetrics())));
  // A newly picked set of areas is brought into view (drawing a shape leaves the map where it is).
  createEffect(
    on(areas, () => map?.ready && void map.fitRegion(areas().map((a) => ({ kind: 'admin' as const, code: a.code, name: a.name }))), {
      defer: true,
    }),
  );

  const pick = (t: DrawTool | null) => (setTool(t), map?.setTool(t));
  return (
    <div class="in-heat">
      <div class="bd-map-wrap">
        <div class="bd-toolbar">
          <button type="button" classList={{ active: tool() === null }} onClick={() => pick(null)}>
            {bt.send.pan}
          </button>
          <button type="button" classList={{ active: tool() === 'rectangle' }} onClick={() => pick('rectangle')}>
            {bt.send.tools.rectangle}
          </button>
          <button type="button" classList={{ active: tool() === 'polygon' }} onClick={() => pick('polygon')}>
            {bt.send.tools.polygon}
          </button>
          <button type="button" classList={{ active: tool() === 'circle' }} onClick={() => pick('circle')}>
            {bt.send.tools.circle}
          </button>
          <button type="button" onClick={() => map?.clearShapes()}>
            {bt.send.clearShapes}
          </button>
          <button
            type="button"
            class="primary"
            onClick={() => {
              // The duty officer's wall: the browser's full screen too (needs this click), then the page.
              void document.documentElement.requestFullscreen?.().catch(() => undefined);
              navigate(screenHref(parts(), hysteresis()));
            }}
            disabled={!parts().length}
          >
            {bt.insight.enterScreen}
          </button>
        </div>
        <div class="bd-map" ref={mapEl} data-testid="heat-map" />
      </div>
      <div class="in-side">
        <div class="card">
          <h2>{bt.insight.pickRegion}</h2>
          <AreaPicker value={areas()} onChange={setAreas} />
          <HysteresisField value={hysteresis()} onChange={setHysteresis} />
        </div>
        <Show when={error()}>
          <p class="error">{error()}</p>
        </Show>
        <Kpis m={metrics()} />
        <Show when={metrics()}>
          {(m) => (
            <>
              <p class="muted small">
                {bt.insight.suppressedHint(m().k)} · {bt.insight.updated} {new Date(m().at).toLocaleTimeString('zh-CN', { hour12: false })}{' '}
                · {bt.insight.local} {fmtCount(m().origin.local, m().k)} / {bt.insight.roaming} {fmtCount(m().origin.roaming, m().k)}
                <Show when={counted()}>
                  {(h) => (
                    <span data-testid="hysteresis-caption">
                      {' '}
                      · {insightText.hysteresisCaption(h().bufferMeters ?? 0, h().minOutsideSeconds ?? 0)}
                    </span>
                  )}
                </Show>
              </p>
              <div class="card">
                <h2>{bt.insight.origin}</h2>
                <EChart option={() => originOption(m(), names() ?? new Map())} />
              </div>
              <div class="card">
                <h2>{bt.insight.dwell}</h2>
                <EChart option={() => dwellOption(m())} />
              </div>
              <div class="card">
                <h2>
                  {bt.insight.gender} / {bt.insight.age}
                </h2>
                <EChart option={() => genderOption(m())} />
                <EChart option={() => ageOption(m())} />
              </div>
              <div class="card">
                <h2>{bt.insight.series}</h2>
                <EChart option={() => seriesOption(m())} />
              </div>
            </>
          )}
        </Show>
      </div>
    </div>
  );
}
