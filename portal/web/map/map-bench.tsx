import { onCleanup, onMount } from 'solid-js';
import { GeoMap, type HexCell } from './geo-map.ts';

declare global {
  interface Window {
    /** Set once the map is ready: draws `cells` and resolves with the milliseconds until the map is idle again. */
    mapBench?: { draw(cells: HexCell[]): Promise<number> };
  }
}

/**
 * A full-window map for `portal/bench/console-map.bench.ts`: the heat map's drawing (GeoMap's H3
 * layer over the offline base map) timed from handing it the cells to the frame being drawn.
 */
export function MapBench() {
  let el!: HTMLDivElement;
  onMount(() => {
    const map = new GeoMap(el, { center: [120.17, 30.25], zoom: 6.5 });
    map.on('ready', () => {
      window.mapBench = {
        draw: (cells) =>
          new Promise((resolve) => {
            const t0 = performance.now();
            map.map.once('idle', () => resolve(performance.now() - t0));
            map.setHexagons(cells);
            map.map.triggerRepaint();
          }),
      };
    });
    onCleanup(() => map.destroy());
  });
  return <div ref={el} data-testid="map-bench" style={{ position: 'fixed', inset: '0' }} />;
}
