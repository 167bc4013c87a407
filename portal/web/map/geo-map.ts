import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// maplibre 6 looks for its worker beside its own module, which a bundle moves. The worker goes in
// the bundle as text and starts from a blob: no extra file for the static server to type.
import workerSource from 'maplibre-gl/dist/maplibre-gl-worker.mjs?raw';
import { MapboxOverlay } from '@deck.gl/mapbox';
import { GeoJsonLayer, PathLayer, TextLayer } from 'deck.gl';
import type { RegionPart } from '@geo/alerting';
import turfBbox from '@turf/bbox';
import { LABEL_COLOR, loadMapSettings, offlineStyle, outlineLayers, outlineSources, type MapTheme } from './offline-style.ts';
import { showMapNotice, styleFailureText } from './own-style.ts';
import { detailLayers, detailSources, labelLayers, type MapDetail } from './detail-style.ts';
import type { HexCell } from './hex-cells.ts';
import { HeatCells } from './hex-layer.ts';
import { partsToGeoJSON } from './region-parts.ts';
import { RegionDrawing, type DrawTool } from './draw-tools.ts';

export type { HexCell } from './hex-cells.ts';
export type { DrawTool } from './draw-tools.ts';

export interface Viewport {
  bbox: [number, number, number, number];
  zoom: number;
}

interface Events {
  /** The drawn shapes changed (drawn, edited, deleted, cleared). */
  shapes: (parts: RegionPart[]) => void;
  /** The view settled after a pan or zoom. */
  viewport: (v: Viewport) => void;
  /** The base map and the drawing tools are ready. */
  ready: () => void;
  /** deck.gl drew a frame (its `onAfterRender`): benchmarks time data to pixels with it. */
  frame: () => void;
}

/** A short label the page puts on the map at a point (a numbered area: "1", "2", …). */
export interface MapMark {
  position: [lng: number, lat: number];
  text: string;
}

interface AreaLabel {
  code: string;
  name: string;
  level: 'province' | 'city' | 'district';
  center: [number, number] | null;
}

maplibregl.setWorkerUrl(URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' })));

const ZHEJIANG: [number, number] = [120.15, 29.2];
const FONT = "'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif";

export interface GeoMapOptions {
  /** Enables terra-draw. @default false */
  draw?: boolean;
  theme?: MapTheme;
  center?: [number, number];
  zoom?: number;
  /** Where the boundaries and area list come from. @default '/api/bigdata' */
  api?: string;
  /** Where the imported base map (meta, tiles) and the platform's places come from. @default '/api/map' */
  mapApi?: string;
}

/**
 * The one map of the console: maplibre-gl with an offline base map (or a configured style URL),
 * deck.gl layers interleaved with it (`MapboxOverlay({ interleaved: true })`: H3 cells, area
 * names, highlighted areas, imported regions, polyline buffers), and terra-draw for drawing.
 * Pages hand it data and listen to its events; they never touch maplibre, deck.gl or terra-draw.
 */
export class GeoMap {
  readonly map: maplibregl.Map;
  private readonly overlay: MapboxOverlay;
  private drawing?: RegionDrawing;
  private readonly listeners: { [K in keyof Events]: Events[K][] } = { shapes: [], viewport: [], ready: [], frame: [] };
  private theme: MapTheme;
  private labels: AreaLabel[] = [];
  /** The heat map cells and the deck.gl layer that draws them. */
  private readonly heatCells = new HeatCells();
  /** Layer data kept between renders: a new object would make deck.gl rebuild the layer. */
  private memo = new Map<string, { key: unknown[]; value: unknown }>();
  private overlayParts: RegionPart[] = [];
  private marks: MapMark[] = [];
  private highlight = new Set<string>();
  private outlines: Record<string, unknown> = {};
  private readonly api: string;
  private readonly mapApi: string;
  /** The imported OpenStreetMap tiles, once `/api/map/meta` said there are some. */
  private detail: MapDetail | undefined;
  /** A deployment's own style URL is the base map (not the offline one); false again if it failed to load. */
  private ownStyle: boolean;
  ready = false;

  constructor(container: HTMLElement, opts: GeoMapOptions = {}) {
    const settings = loadMapSettings();
    this.theme = opts.theme ?? settings.theme;
    this.api = opts.api ?? '/api/bigdata';
    this.mapApi = opts.mapApi ?? '/api/map';
    this.ownStyle = !!settings.styleUrl;
    this.map = new maplibregl.Map({
      container,
      style: settings.styleUrl || offlineStyle(this.theme, `${this.api}/boundaries`),
      center: opts.center ?? ZHEJIANG,
      zoom: opts.zoom ?? 6.3,
      attributionControl: false,
      // Keeps the canvas readable by screenshots and tests.
      canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    // @deck.gl/mapbox 9.4's interleaved mode reads `map.transform` (height, near/far planes), which
    // maplibre 6 moved to its camera; without this every frame throws and the map never loads.
    if (!('transform' in this.map))
      Object.defineProperty(this.map, 'transform', {
        configurable: true,
        get: () => (this.map as unknown as { _camera: { transform: unknown } })._camera.transform,
      });
    this.overlay = new MapboxOverlay({ interleaved: true, layers: [], onAfterRender: () => this.listeners.frame.forEach((f) => f()) });
    this.map.addControl(this.overlay);
    this.map.on('moveend', () => {
      const b = this.map.getBounds();
      const v: Viewport = { bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom: this.map.getZoom() };
      // What is in view, for tests and screenshots' readers: "west,south,east,north".
      container.dataset.bbox = v.bbox.map((x) => x.toFixed(5)).join(',');
      this.listeners.viewport.forEach((f) => f(v));
      this.render();
    });
    if (this.ownStyle) this.fallBackIfOwnStyleFails(container, settings.styleUrl);
    this.map.once('load', () => {
      if (!this.ownStyle) void this.loadDetail(container);
      else this.addOutlinesOverOwnStyle();
      if (opts.draw)
        this.drawing = new RegionDrawing(this.map, (parts) => {
          this.listeners.shapes.forEach((f) => f(parts));
          this.render();
        });
      this.ready = true;
      container.dataset.mapReady = '1';
      this.listeners.ready.forEach((f) => f());
      this.render();
    });
    void this.loadLabels();
  }

  on<K extends keyof Events>(event: K, fn: Events[K]): () => void {
    this.listeners[event].push(fn);
    return () => {
      this.listeners[event] = this.listeners[event].filter((f) => f !== fn) as never;
    };
  }

  private async loadLabels(): Promise<void> {
    try {
      const r = await fetch(`${this.api}/areas`, { credentials: 'same-origin' });
      if (r.ok) this.labels = ((await r.json()) as { areas: AreaLabel[] }).areas;
      this.render();
    } catch {
      // Without names the outlines still show.
    }
  }

  /**
   * Adds the imported OpenStreetMap detail (water, roads, railways, buildings under the outlines;
   * lake, place and station names above) when an import was made, and the platform's own places
   * always. `data-map-detail` on the container says which: 'osm' or 'outlines'.
   */
  private async loadDetail(container: HTMLElement): Promise<void> {
    try {
      const r = await fetch(`${this.mapApi}/meta`, { credentials: 'same-origin' });
      if (r.ok) this.detail = ((await r.json()) as { detail: MapDetail | null }).detail ?? undefined;
    } catch {
      // No detail: the outlines stay the base map.
    }
    for (const [id, source] of Object.entries(detailSources(this.detail, `${this.mapApi}/places`))) this.map.addSource(id, source);
    for (const layer of detailLayers(this.theme, this.detail)) this.map.addLayer(layer, 'district-line');
    for (const layer of labelLayers(this.theme, this.detail)) this.map.addLayer(layer);
    container.dataset.mapDetail = this.detail ? 'osm' : 'outlines';
  }

  /**
   * A style URL that does not load (404, not a style, a server that does not answer, an origin the
   * portal's security policy refuses) would leave the map blank, with nothing to draw on: the map
   * takes the offline base map instead and says why over it, in Chinese, naming the settings.
   */
  private fallBackIfOwnStyleFails(container: HTMLElement, url: string): void {
    const onError = (e: maplibregl.ErrorEvent) => {
      // Errors of tiles and sources come after the style loaded: the outlines still show over them.
      if (this.ready || 'sourceId' in e) return;
      this.map.off('error', onError);
      this.ownStyle = false;
      this.map.setStyle(offlineStyle(this.theme, `${this.api}/boundaries`));
      // The browser reports a security policy refusal as its own event, just after the failed fetch.
      setTimeout(() => showMapNotice(container, styleFailureText(url, e.error)), 100);
    };
    this.map.on('error', onError);
  }

  /** The administrative outlines over a deployment's own style, under the drawing and deck.gl layers. */
  private addOutlinesOverOwnStyle(): void {
    for (const [level, source] of Object.entries(outlineSources(`${this.api}/boundaries`))) this.map.addSource(`geo-${level}`, source);
    for (const layer of outlineLayers(this.theme, 'geo-')) this.map.addLayer(layer);
  }

  private async outline(level: string): Promise<unknown> {
    if (!this.outlines[level]) {
      const r = await fetch(`${this.api}/boundaries/${level}`, { credentials: 'same-origin' });
      this.outlines[level] = r.ok ? await r.json() : { type: 'FeatureCollection', features: [] };
    }
    return this.outlines[level];
  }

  /** Picks a drawing tool; null returns to panning. */
  setTool(tool: DrawTool | null): void {
    this.drawing?.setTool(tool);
  }

  /** 挖空: the next polygon drawn is cut out of the drawn areas under it. */
  cutOut(on = true): void {
    this.drawing?.armCut(on);
  }

  /** Buffer width (each side, metres) for new polylines, and for the selected one. */
  setBufferM(m: number): void {
    this.drawing?.setBufferM(m);
  }

  deleteSelected(): void {
    this.drawing?.deleteSelected();
  }

  clearShapes(): void {
    this.drawing?.clearShapes();
  }

  /** The drawn shapes as region parts of the alert-task contract (areas with holes included). */
  getShapes(): RegionPart[] {
    return this.drawing?.getShapes() ?? [];
  }

  /** Replaces the drawn shapes (a draft, or "send again"). Admin parts are not drawn shapes. */
  setShapes(parts: RegionPart[]): void {
    this.drawing?.setShapes(parts);
  }

  /** Regions drawn but not editable: imported files, a task's region. */
  setOverlayParts(parts: RegionPart[]): void {
    this.overlayParts = parts;
    this.render();
  }

  /** Administrative areas to outline (picked in the province → city → district pickers). */
  async setHighlightAreas(codes: string[]): Promise<void> {
    this.highlight = new Set(codes);
    await Promise.all(['province', 'city', 'district'].map((l) => this.outline(l)));
    this.render();
  }

  /** Population or reached people per H3 cell. */
  setHexagons(cells: HexCell[]): void {
    this.heatCells.set(cells);
    this.render();
  }

  /** Labels over everything else, e.g. the numbers of the areas a page's table lists. */
  setMarks(marks: MapMark[]): void {
    this.marks = marks;
    this.render();
  }

  /** `make()` again only when `key` changed (element-wise), else the value of last time. */
  private memoized<T>(id: string, key: unknown[], make: () => T): T {
    const m = this.memo.get(id);
    if (m && m.key.length === key.length && m.key.every((k, i) => k === key[i])) return m.value as T;
    const value = make();
    this.memo.set(id, { key, value });
    return value;
  }

  setTheme(theme: MapTheme): void {
    this.theme = theme;
    const layers = this.ownStyle
      ? outlineLayers(theme, 'geo-')
      : [...offlineStyle(theme, `${this.api}/boundaries`).layers, ...detailLayers(theme, this.detail), ...labelLayers(theme, this.detail)];
    for (const l of layers) {
      const paint = (l as { paint?: Record<string, unknown> }).paint ?? {};
      for (const [k, v] of Object.entries(paint)) if (this.map.getLayer(l.id)) this.map.setPaintProperty(l.id, k as never, v as never);
    }
    this.render();
  }

  fitBounds(bbox: [number, number, number, number]): void {
    this.map.fitBounds([bbox[0], bbox[1], bbox[2], bbox[3]], { padding: 40, duration: 0 });
  }

  /**
   * Shows the whole region: its administrative areas (by their outlines) and drawn shapes, with a
   * margin. Resolves once the map has moved (its `viewport` event has fired); false when nothing
   * of the region has a known outline, and the map stays where it was.
   */
  async fitRegion(parts: RegionPart[]): Promise<boolean> {
    const codes = new Set(parts.flatMap((p) => (p.kind === 'admin' ? [p.code] : [])));
    const features: unknown[] = [...partsToGeoJSON(parts).features];
    if (codes.size)
      for (const level of ['province', 'city', 'district']) {
        const fc = (await this.outline(level)) as { features?: { properties: { code: string } }[] };
        features.push(...(fc.features ?? []).filter((f) => codes.has(f.properties.code)));
      }
    if (!features.length) return false;
    const [w, s, e, n] = turfBbox({ type: 'FeatureCollection', features } as never);
    if (![w, s, e, n].every(Number.isFinite)) return false;
    const moved = new Promise<void>((r) => this.map.once('moveend', () => r()));
    this.fitBounds([w!, s!, e!, n!]);
    await moved;
    return true;
  }

  private render(): void {
    const zoom = this.map.getZoom();
    const band = zoom < 6 ? 0 : zoom < 8.5 ? 1 : 2;
    const labels = this.memoized('labels', [this.labels, band], () =>
      this.labels.filter((a) => a.center && (a.level === 'city' ? zoom >= 6 : a.level === 'district' ? zoom >= 8.5 : zoom < 6)),
    );
    const areas = this.memoized('areas', [this.highlight, ...Object.values(this.outlines)], () => ({
      type: 'FeatureCollection',
      features: Object.values(this.outlines).flatMap((fc) =>
        ((fc as { features?: { properties: { code: string } }[] }).features ?? []).filter((f) => this.highlight.has(f.properties.code)),
      ),
    }));
    const overlay = this.memoized('overlay', [this.overlayParts], () => partsToGeoJSON(this.overlayParts));
    const fixed = this.drawing?.fixedParts() ?? [];
    const holed = this.memoized('holed', [fixed], () => partsToGeoJSON(fixed));
    const allParts = [...this.getShapes(), ...this.overlayParts];
    const polylines = this.memoized('polylines', [JSON.stringify(allParts.filter((p) => p.kind === 'polyline'))], () =>
      allParts.filter((p): p is Extract<RegionPart, { kind: 'polyline' }> => p.kind === 'polyline'),
    );
    this.overlay.setProps({
      layers: [
        this.heatCells.layer(),
        new GeoJsonLayer({
          id: 'areas',
          data: areas as never,
          filled: true,
          getFillColor: [47, 125, 225, 40],
          getLineColor: [47, 125, 225, 255],
          getLineWidth: 2,
          lineWidthUnits: 'pixels',
        }),
        new GeoJsonLayer({
          id: 'overlay',
          data: overlay as never,
          filled: true,
          getFillColor: [240, 140, 30, 50],
          getLineColor: [240, 140, 30, 255],
          getLineWidth: 2,
          lineWidthUnits: 'pixels',
        }),
        // Drawn areas with holes (挖空) or in pieces: terra-draw cannot hold them, so they are drawn here.
        new GeoJsonLayer({
          id: 'drawn-holed',
          data: holed as never,
          filled: true,
          getFillColor: [47, 125, 225, 50],
          getLineColor: [47, 125, 225, 255],
          getLineWidth: 2,
          lineWidthUnits: 'pixels',
        }),
        new PathLayer<Extract<RegionPart, { kind: 'polyline' }>>({
          id: 'buffers',
          data: polylines,
          getPath: (d) => d.path,
          getWidth: (d) => d.bufferM * 2,
          widthUnits: 'meters',
          getColor: [47, 125, 225, 60],
          capRounded: true,
          jointRounded: true,
        }),
        new TextLayer<AreaLabel>({
          id: 'labels',
          data: labels,
          getPosition: (d) => d.center!,
          getText: (d) => d.name,
          getSize: (d) => (d.level === 'district' ? 12 : 14),
          getColor: LABEL_COLOR[this.theme],
          characterSet: 'auto',
          fontFamily: FONT,
          fontSettings: { sdf: false },
          updateTriggers: { getColor: [this.theme] },
        }),
        new TextLayer<MapMark>({
          id: 'marks',
          data: this.marks,
          getPosition: (d) => d.position,
          getText: (d) => d.text,
          getSize: 14,
          getColor: [20, 20, 20, 255],
          background: true,
          getBackgroundColor: [255, 255, 255, 220],
          backgroundPadding: [4, 1],
          characterSet: 'auto',
          fontFamily: FONT,
          fontWeight: 'bold',
          fontSettings: { sdf: false },
        }),
      ],
    });
  }

  destroy(): void {
    this.drawing?.stop();
    this.map.remove();
  }
}
