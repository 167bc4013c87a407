import { onCleanup, onMount } from 'solid-js';
import { GeoMap } from './geo-map.ts';
import { heatmapCells } from './hex-cells.ts';

/** One timed draw, milliseconds from handing the cells to the map. */
export interface DrawTiming {
  /** Parsing the answer and `setHexagons` (the synchronous part). */
  setup: number;
  /** The first frame deck.gl drew after the cells were handed over (cells on screen). */
  firstFrame: number;
  /** The map idle again (every frame the change caused is drawn). */
  idle: number;
  /** Frames deck.gl drew until idle. */
  frames: number;
}

declare global {
  interface Window {
    /** Set once the map is ready. */
    mapBench?: {
      /** Draws the cells of `json`, an answer of `/api/insight/heatmap` as received; resolves with its timing. */
      draw(json: string): Promise<DrawTiming>;
      /** A repaint of the unchanged map, to idle: what one frame costs. */
      repaint(): Promise<number>;
      /** Moves the view to `center` at `zoom`, resolving when the map is idle there. */
      view(center: [number, number], zoom: number): Promise<void>;
      /** Names of the features of `layer` drawn in the view now (`queryRenderedFeatures`), for tests. */
      rendered(layer: string): string[];
      /** Names of the features of `layer` drawn at one place (lng, lat) of the view. */
      renderedAt(layer: string, at: [number, number]): string[];
    };
    /** Where the benchmark puts an answer before timing its drawing. */
    mapBenchAnswer?: string;
  }
}

/**
 * A full-window map for `portal/bench/console-map.bench.ts`: the heat map's drawing (GeoMap's H3
 * layer over the offline base map) timed from the answer's text being in the page to the first frame
 * drawn with the cells (deck.gl's `onAfterRender`), and to the map idle again.
 */
export function MapBench() {
  let el!: HTMLDivElement;
  onMount(() => {
    const map = new GeoMap(el, { center: [120.17, 30.25], zoom: 6.5 });
    let frames = 0;
    let onFrame: (() => void) | undefined;
    map.on('frame', () => (frames++, onFrame?.()));
    map.on('ready', () => {
      window.mapBench = {
        draw: (json) =>
          new Promise((resolve) => {
            const t0 = performance.now();
            const f0 = frames;
            let firstFrame = 0;
            onFrame = () => {
              firstFrame = performance.now() - t0;
              onFrame = undefined;
            };
            map.map.once('idle', () => resolve({ setup, firstFrame, idle: performance.now() - t0, frames: frames - f0 }));
            map.setHexagons(heatmapCells(JSON.parse(json)));
            const setup = performance.now() - t0;
            map.map.triggerRepaint();
          }),
        view: (center, zoom) =>
          new Promise((resolve) => {
            map.map.once('idle', () => resolve());
            map.map.jumpTo({ center, zoom });
          }),
        rendered: (layer) =>
          map.map.getLayer(layer)
            ? map.map.queryRenderedFeatures({ layers: [layer] }).map((f) => String(f.properties.name ?? f.properties.class ?? ''))
            : [],
        renderedAt: (layer, at) =>
          map.map.getLayer(layer)
            ? map.map
                .queryRenderedFeatures(map.map.project(at), { layers: [layer] })
                .map((f) => String(f.properties.name ?? f.properties.class ?? ''))
            : [],
        repaint: () =>
          new Promise((resolve) => {
            const t0 = performance.now();
            map.map.once('idle', () => resolve(performance.now() - t0));
            map.map.triggerRepaint();
          }),
      };
    });
    onCleanup(() => map.destroy());
  });
  return <div ref={el} data-testid="map-bench" style={{ position: 'fixed', inset: '0' }} />;
}
