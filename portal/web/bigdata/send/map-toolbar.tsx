import { createSignal, For } from 'solid-js';
import { DEFAULT_BUFFER_M, geojsonToParts, MapSettingsButton, type DrawTool, type GeoMap } from '../../map/index.ts';
import { notify } from '../../ui/ui.tsx';
import { bt } from '../zh-CN.ts';

/** The send map's tools: pan, draw (line with a buffer, rectangle, polygon, circle), select, delete, clear, import GeoJSON, the map's settings. */
export function MapToolbar(props: {
  map: () => GeoMap | undefined;
  /** Regions read from an imported GeoJSON file, each line buffered by the toolbar's width. */
  onImport: (parts: ReturnType<typeof geojsonToParts>) => void;
  onClear: () => void;
}) {
  const [tool, setTool] = createSignal<DrawTool | null>(null);
  const [bufferM, setBufferM] = createSignal(DEFAULT_BUFFER_M);
  const pickTool = (t: DrawTool | null) => {
    setTool(t);
    props.map()?.setTool(t);
  };

  const importFile = async (file: File) => {
    try {
      const parts = geojsonToParts(JSON.parse(await file.text()), bufferM());
      props.onImport(parts);
    } catch (e) {
      notify('err', bt.send.importFailed((e as Error).message));
    }
  };
  return (
    <div class="bd-toolbar">
      <button type="button" classList={{ active: tool() === null }} onClick={() => pickTool(null)}>
        {bt.send.pan}
      </button>
      <For each={['linestring', 'rectangle', 'polygon', 'circle', 'select'] as DrawTool[]}>
        {(t) => (
          <button type="button" data-tool={t} classList={{ active: tool() === t }} onClick={() => pickTool(t)}>
            {bt.send.tools[t]}
          </button>
        )}
      </For>
      <label class="buffer" title={bt.send.bufferM}>
        {bt.send.bufferM}
        <input
          type="number"
          min={1}
          max={50000}
          value={bufferM()}
          onInput={(e) => (setBufferM(Number(e.currentTarget.value) || DEFAULT_BUFFER_M), props.map()?.setBufferM(bufferM()))}
        />
      </label>
      <button type="button" onClick={() => props.map()?.deleteSelected()}>
        {bt.send.deleteShape}
      </button>
      <button type="button" onClick={() => (props.map()?.clearShapes(), props.onClear())}>
        {bt.send.clearShapes}
      </button>
      <label class="file-btn">
        {bt.send.importGeoJSON}
        <input
          type="file"
          accept=".geojson,.json,application/geo+json,application/json"
          onChange={(e) => e.currentTarget.files?.[0] && void importFile(e.currentTarget.files[0])}
        />
      </label>
      <MapSettingsButton onTheme={(t) => props.map()?.setTheme(t)} />
    </div>
  );
}
