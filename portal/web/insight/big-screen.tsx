import { createEffect, createResource, createSignal, For, on, onCleanup, onMount, Show } from 'solid-js';
import type { RegionPart } from '@geo/alerting';
import type { RegionMetrics } from '@geo/insight';
import { navigate } from '../lib/router.tsx';
import { GeoMap, type Viewport } from '../map/index.ts';
import { loadAreas } from '../bigdata/send/area-picker.tsx';
import { bt } from '../bigdata/zh-CN.ts';
import { Badge } from '../ui/ui.tsx';
import { insightText } from './zh-CN.ts';
import { ageOption, codeName, dwellOption, EChart, fmtCount, genderOption, seriesOption } from './charts.tsx';
import { heatCells, Kpis } from './heatmap-page.tsx';
import type { Hysteresis } from '../bigdata/hysteresis/hysteresis-field.tsx';

/** Origins listed by name (the rest under 其他): as many as fit the column, each with its label. */
const ORIGIN_ROWS = 8;

interface ActiveTask {
  id: string;
  subject: string;
  alertTypeLabel: string;
  state: string;
  stateLabel: string;
  /** An exercise (演练): marked so nobody in the room takes it for a real alert. */
  exercise?: boolean;
  progress: { matched?: number; k?: number; carriers?: Record<string, { sent: number }> } | null;
}

/** The region in the address (`?region={"parts":[…]}`), else Hangzhou. */
function regionFromUrl(): { parts: RegionPart[] } {
  try {
    const r = JSON.parse(new URLSearchParams(location.search).get('region') ?? '') as { parts: RegionPart[] };
    if (Array.isArray(r.parts) && r.parts.length) return r;
  } catch {
    // fall through to the default
  }
  return { parts: [{ kind: 'admin', code: '330100', name: bt.insight.defaultRegionName }] };
}

/** The insight page's 边缘防抖 in the address (`&hysteresis={…}`, #21), when set. */
function hysteresisFromUrl(): Hysteresis | undefined {
  try {
    const h = JSON.parse(new URLSearchParams(location.search).get('hysteresis') ?? '') as Hysteresis | null;
    if (h && typeof h === 'object' && ((h.bufferMeters ?? 0) > 0 || (h.minOutsideSeconds ?? 0) > 0)) return h;
  } catch {
    // none: every crossing counts
  }
  return undefined;
}

/**
 * 可视化大屏: a 1920×1080 dashboard of one region, refreshing itself over Server-Sent Events
 * (`/api/insight/live`): headline figures, charts, the heat map and active alert tasks, in type
 * large enough to read across a room.
 */
export function BigScreen() {
  const region = regionFromUrl();
  const hysteresis = hysteresisFromUrl();
  const [m, setM] = createSignal<RegionMetrics>();
  const [tasks, setTasks] = createSignal<ActiveTask[]>([]);
  const [failure, setFailure] = createSignal('');
  const [now, setNow] = createSignal(new Date());
  const [names] = createResource(async () => new Map((await loadAreas()).map((a) => [a.code, a.name])));
  const title = () =>
    region.parts
      .map((p) => (p.kind === 'admin' ? (p.name ?? names()?.get(p.code) ?? p.code) : bt.insight.customRegion))
      .join(bt.insight.listSep);
  let mapEl!: HTMLDivElement;
  let alertsEl!: HTMLUListElement;
  let map: GeoMap | undefined;
  let view: Viewport | undefined;

  onMount(() => {
    const h = hysteresis ? `&hysteresis=${encodeURIComponent(JSON.stringify(hysteresis))}` : '';
    const es = new EventSource(`/api/insight/live?region=${encodeURIComponent(JSON.stringify(region))}&intervalS=5${h}`);
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
    // The panel's room changes with the window (1920×1080, 3840×2160, a window of another shape).
    const resized = new ResizeObserver(() => requestAnimationFrame(fitAlerts));
    resized.observe(alertsEl.parentElement!);
    // So does the map's: the region fitted again, not left a small patch in the middle of a 4K wall
    // at the zoom that suited the window it opened in (#23 walk). Once the size has settled.
    let lastSize = '';
    let refit: ReturnType<typeof setTimeout> | undefined;
    const mapResized = new ResizeObserver(([e]) => {
      const size = `${Math.round(e!.contentRect.width)}x${Math.round(e!.contentRect.height)}`;
      if (size === lastSize) return;
      const first = lastSize === '';
      lastSize = size;
      if (first || !map?.ready) return;
      clearTimeout(refit);
      refit = setTimeout(
        () =>
          void map
            ?.fitRegion(region.parts)
            .then(() => view && heatCells(view))
            .then((c) => c && map?.setHexagons(c))
            .catch(() => undefined),
        200,
      );
    });
    mapResized.observe(mapEl);
    onCleanup(() => (es.close(), clearInterval(clock), clearTimeout(refit), resized.disconnect(), mapResized.disconnect(), map?.destroy()));
  });

  const fullScreen = () => {
    // The browser's Fullscreen API (a user's click), over the full-window page: no tabs, no address bar.
    const el = document.documentElement;
    if (!document.fullscreenElement) void el.requestFullscreen?.().catch(() => undefined);
  };
  const exit = () => {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    navigate('/insight');
  };
  // Only alerts actually sending: a task not started yet is not the duty officer's concern here.
  const running = () => tasks().filter((t) => t.state === 'running');
  // As many alerts as the panel holds, each one whole, and how many more below them: not a list cut
  // off by the panel's edge with nothing to say so (#23: 19 tasks listed, 3 visible).
  const [fits, setFits] = createSignal(Infinity);
  const fitAlerts = () => {
    const first = alertsEl.querySelector<HTMLElement>(':scope > li[data-task]');
    if (!first) return;
    const panel = alertsEl.parentElement!;
    const ul = getComputedStyle(alertsEl);
    const gap = parseFloat(ul.rowGap) || 0;
    const room =
      panel.getBoundingClientRect().bottom - parseFloat(getComputedStyle(panel).paddingBottom) - alertsEl.getBoundingClientRect().top;
    // The rows are alike (one line each for the alert and its progress): the first one's height is every one's.
    const row = first.getBoundingClientRect().height;
    const n = running().length;
    if (n * row + (n - 1) * gap <= room) return setFits(n);
    // The 另有 N 项 line below them: one line of the list's type (its line-height is 1.4, bigdata.css).
    const moreLine = parseFloat(ul.fontSize) * 1.4 + gap;
    setFits(Math.max(1, Math.floor((room - moreLine + gap) / (row + gap))));
  };
  createEffect(
    on(
      () => running().length,
      () => requestAnimationFrame(fitAlerts),
    ),
  );
  const shown = () => running().slice(0, fits());
  const sentOf = (t: ActiveTask) => Object.values(t.progress?.carriers ?? {}).reduce((n, c) => n + c.sent, 0);
  const originRows = () => {
    const x = m();
    if (!x) return [];
    const rows = [
      ...x.origin.cities.slice(0, ORIGIN_ROWS).map((c) => ({ name: codeName(c.code, names() ?? new Map()), count: c.count })),
      { name: bt.insight.otherOrigin, count: x.origin.otherCities },
    ];
    const max = Math.max(1, ...rows.map((r) => (r.count.suppressed ? 0 : (r.count.value ?? 0))));
    return rows.map((r) => ({ ...r, share: r.count.suppressed ? 0 : (r.count.value ?? 0) / max }));
  };

  return (
    <div class="screen" data-testid="big-screen">
      <header>
        <h1>
          {title()} · {bt.insight.screenHeading}
        </h1>
        <div class="screen-tools">
          <span class="clock">{now().toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false })}</span>
          <button type="button" class="exit" data-action="fullscreen" onClick={fullScreen}>
            {bt.insight.fullScreen}
          </button>
          <button type="button" class="exit" onClick={exit}>
            {bt.insight.exitScreen}
          </button>
        </div>
      </header>
      <div class="col">
        <div class="panel">
          <h2>{bt.insight.population}</h2>
          <div class="big" classList={{ suppressed: !!m()?.population.total.suppressed }} data-testid="screen-population">
            {fmtCount(m()?.population.total, m()?.k)}
          </div>
          <Kpis m={m()} without="population" />
          <Show when={hysteresis}>
            {(h) => (
              <p class="small" data-testid="hysteresis-caption">
                {insightText.hysteresisCaption(h().bufferMeters ?? 0, h().minOutsideSeconds ?? 0)}
              </p>
            )}
          </Show>
          <Show when={failure()}>
            <p class="small">{bt.insight.unavailableBecause(failure())}</p>
          </Show>
        </div>
        <div class="panel grow" data-testid="screen-origin">
          <h2>{bt.insight.origin}</h2>
          <ol class="bars">
            <For each={originRows()}>
              {(r) => (
                <li>
                  <span class="name">{r.name}</span>
                  <span class="bar">
                    <i style={{ width: `${Math.round(r.share * 100)}%` }} />
                  </span>
                  <span class="n" classList={{ suppressed: r.count.suppressed }}>
                    {fmtCount(r.count, m()?.k)}
                  </span>
                </li>
              )}
            </For>
          </ol>
        </div>
        <div class="panel">
          <h2>{bt.insight.age}</h2>
          <EChart dark option={(px) => m() && ageOption(m()!, true, px)} />
          <Show when={m()}>
            {(x) => (
              <p class="note" data-testid="screen-age-note">
                {insightText.ageCounted(
                  x()
                    .portrait.age.reduce((n, a) => n + (a.count.suppressed ? 0 : (a.count.value ?? 0)), 0)
                    .toLocaleString('zh-CN'),
                  fmtCount(x().population.total, x().k),
                  x().k,
                )}
              </p>
            )}
          </Show>
        </div>
      </div>
      <div class="col">
        <div class="bd-map" ref={mapEl} />
      </div>
      <div class="col">
        <div class="panel grow" data-testid="screen-tasks">
          <h2>{bt.insight.activeTasks}</h2>
          <ul class="alerts" ref={alertsEl}>
            <For each={shown()} fallback={<li class="none">{bt.insight.noActiveTasks}</li>}>
              {(t) => (
                <li data-task={t.id}>
                  <div class="line">
                    <span class="type">
                      {t.alertTypeLabel}
                      <Show when={t.exercise}>
                        <Badge kind="warn">{insightText.exercise}</Badge>
                      </Show>
                    </span>
                    <span class="subject">{t.subject}</span>
                    <span class="state">{t.stateLabel}</span>
                  </div>
                  <div class="progress">
                    <span class="bar">
                      <i
                        style={{ width: `${t.progress?.matched ? Math.min(100, Math.round((sentOf(t) / t.progress.matched) * 100)) : 0}%` }}
                      />
                    </span>
                    <span class="n">{bt.insight.sentOfMatched(sentOf(t), t.progress?.matched ?? 0, t.progress?.k)}</span>
                  </div>
                </li>
              )}
            </For>
            <Show when={running().length > shown().length}>
              <li class="more" data-testid="screen-tasks-more">
                {insightText.moreAlerts(running().length - shown().length)}
              </li>
            </Show>
          </ul>
        </div>
        <div class="panel">
          <h2>{bt.insight.series}</h2>
          <EChart dark option={(px) => m() && seriesOption(m()!, true, px)} />
          <p class="note" data-testid="screen-privacy">
            {insightText.hiddenCategories(m()?.k ?? 10)}
          </p>
        </div>
        <div class="panel">
          <h2>
            {bt.insight.dwell} / {bt.insight.gender}
          </h2>
          <div class="pair">
            <EChart dark option={(px) => m() && dwellOption(m()!, true, px)} class="echart half" />
            <EChart dark option={(px) => m() && genderOption(m()!, true, px)} class="echart half" />
          </div>
        </div>
      </div>
    </div>
  );
}
