import { createSignal, Show } from 'solid-js';
import { loadMapSettings, saveMapSettings } from './offline-style.ts';
import { isStyleUrl } from './own-style.ts';
import { mt } from './zh-CN.ts';

/**
 * The map's settings: dark or light base map, and a deployment's own style URL (its map server).
 * A new style URL takes effect on reload (the drawing layers belong to the current style).
 */
export function MapSettingsButton(props: { onTheme?: (t: 'dark' | 'light') => void }) {
  const [open, setOpen] = createSignal(false);
  const [s, setS] = createSignal(loadMapSettings());
  const [urlError, setUrlError] = createSignal('');
  const save = () => {
    if (!isStyleUrl(s().styleUrl)) return setUrlError(mt.badStyleUrl);
    const before = loadMapSettings();
    saveMapSettings(s());
    setOpen(false);
    if (before.styleUrl !== s().styleUrl) location.reload();
    else props.onTheme?.(s().theme);
  };
  return (
    <div class="map-settings">
      <button type="button" onClick={() => setOpen(!open())} title={mt.settings}>
        {mt.settings}
      </button>
      <Show when={open()}>
        <div class="map-settings-panel">
          <label>
            <span>{mt.theme}</span>
            <select value={s().theme} onChange={(e) => setS({ ...s(), theme: e.currentTarget.value === 'light' ? 'light' : 'dark' })}>
              <option value="dark">{mt.dark}</option>
              <option value="light">{mt.light}</option>
            </select>
          </label>
          <label>
            <span>{mt.styleUrl}</span>
            <input
              type="url"
              placeholder="https://map.example.gov.cn/style.json"
              value={s().styleUrl}
              onInput={(e) => (setS({ ...s(), styleUrl: e.currentTarget.value.trim() }), setUrlError(''))}
            />
          </label>
          <Show when={urlError()}>
            <div class="field-error" role="alert" data-testid="map-style-url-error">
              {urlError()}
            </div>
          </Show>
          <div class="form-actions">
            <button type="button" onClick={() => setOpen(false)}>
              {mt.cancel}
            </button>
            <button type="button" class="primary" onClick={save}>
              {mt.save}
            </button>
          </div>
        </div>
      </Show>
    </div>
  );
}
