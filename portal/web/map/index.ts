/** The map module: pages use only this front door. */
export { GeoMap, type DrawTool, type HexCell, type MapMark, type Viewport, type GeoMapOptions } from './geo-map.ts';
export { heatmapCells } from './hex-cells.ts';
export { offlineStyle, loadMapSettings, saveMapSettings, type MapTheme, type MapSettings } from './offline-style.ts';
export { geojsonToParts, partsToGeoJSON, ImportError, DEFAULT_BUFFER_M } from './region-parts.ts';
export { MapSettingsButton } from './map-settings.tsx';
