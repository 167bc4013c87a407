import { createSignal, Show } from 'solid-js';
import { loadMapSettings, saveMapSettings } from './offline-style.ts';

/**
 * The map's settings: dark or light base map, and a deployment's own style URL (its map server).
 * A new style URL takes effect on reload (the drawing layers belong to the current style).
 */
export function MapSettingsButton(props: { onTheme?: (t: 'dark' | 'light') => void }) {
  const [open, setOpen] = createSignal(false);
  const [s, setS] = createSignal(loadMapSettings());
  const save = () => {
    const before = loadMapSettings();
    saveMapSettings(s());
    setOpen(false);
    if (before.styleUrl !== s().styleUrl) location.reload();
    else props.onTheme?.(s().theme);
  };
  return (
    <div class="map-settings">
      <button type="button" onClick={() => setOpen(!open())} title="地图设置">
        地图设置
      </button>
      <Show when={open()}>
        <div class="map-settings-panel">
          <label>
            <span>底图风格</span>
            <select value={s().theme} onChange={(e) => setS({ ...s(), theme: e.currentTarget.value === 'light' ? 'light' : 'dark' })}>
              <option value="dark">深色</option>
              <option value="light">浅色</option>
            </select>
          </label>
          <label>
            <span>瓦片/样式地址（留空使用离线底图）</span>
            <input
              type="url"
              placeholder="https://map.example.gov.cn/style.json"
              value={s().styleUrl}
              onInput={(e) => setS({ ...s(), styleUrl: e.currentTarget.value.trim() })}
            />
          </label>
          <div class="form-actions">
            <button type="button" onClick={() => setOpen(false)}>
              取消
            </button>
            <button type="button" class="primary" onClick={save}>
              保存
            </button>
          </div>
        </div>
      </Show>
    </div>
  );
}
