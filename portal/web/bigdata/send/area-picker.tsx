import { createMemo, createResource, createSignal, For, Show } from 'solid-js';
import { get } from '../../lib/api.ts';
import { bt } from '../zh-CN.ts';

export interface AreaNode {
  code: string;
  name: string;
  level: 'province' | 'city' | 'district';
  parent: string | null;
  center: [number, number] | null;
  hasBoundary: boolean;
}

let cache: Promise<AreaNode[]> | undefined;
/** The areas of the pickers (fetched once per page load). */
export const loadAreas = () => (cache ??= get<{ areas: AreaNode[] }>('/api/bigdata/areas').then((r) => r.areas));

/** The pickers' own padding, small: a third of the form is little room for 区/县（全部） or a long district name. */
const NARROW = { 'padding-left': '4px', 'padding-right': '2px' };

/** Province → city → district pickers; "添加区域" adds the most specific level chosen. Several areas at once. */
export function AreaPicker(props: {
  value: { code: string; name: string }[];
  onChange: (v: { code: string; name: string }[]) => void;
  error?: string;
}) {
  const [areas] = createResource(loadAreas);
  const [prov, setProv] = createSignal('');
  const [city, setCity] = createSignal('');
  const [dist, setDist] = createSignal('');
  const by = (level: string, parent?: string) =>
    (areas() ?? []).filter((a) => a.level === level && (parent === undefined || a.parent === parent));
  const provinces = createMemo(() => by('province'));
  const cities = createMemo(() => (prov() ? by('city', prov()) : []));
  const districts = createMemo(() => (city() ? by('district', city()) : []));
  const picked = () => areas()?.find((x) => x.code === (dist() || city() || prov()));
  // An area without an outline cannot tell who is inside: it would send to nobody, silently.
  const noOutline = () => {
    const a = picked();
    return !!a && !a.hasBoundary;
  };
  const add = () => {
    const a = picked();
    if (!a || noOutline() || props.value.some((v) => v.code === a.code)) return;
    props.onChange([...props.value, { code: a.code, name: a.name }]);
  };
  return (
    <div class="area-picker">
      {/* Three selects across the form, 添加区域 under them: beside them each was ~97 px and cut 区/县（全部）. */}
      <div class="row" style={{ 'flex-wrap': 'nowrap' }}>
        <select
          style={NARROW}
          aria-label={bt.send.province}
          value={prov()}
          onChange={(e) => (setProv(e.currentTarget.value), setCity(''), setDist(''))}
        >
          <option value="">{bt.send.province}</option>
          <For each={provinces()}>{(a) => <option value={a.code}>{a.name}</option>}</For>
        </select>
        <select
          style={NARROW}
          aria-label={bt.send.city}
          value={city()}
          onChange={(e) => (setCity(e.currentTarget.value), setDist(''))}
          disabled={!prov()}
        >
          <option value="">{bt.send.city + bt.send.wholeLevel}</option>
          <For each={cities()}>{(a) => <option value={a.code}>{a.name}</option>}</For>
        </select>
        <select
          style={NARROW}
          aria-label={bt.send.district}
          value={dist()}
          onChange={(e) => setDist(e.currentTarget.value)}
          disabled={!city()}
        >
          <option value="">{bt.send.district + bt.send.wholeLevel}</option>
          <For each={districts()}>
            {(a) => (
              <option value={a.code}>
                {a.name}
                {a.hasBoundary ? '' : bt.send.noBoundary}
              </option>
            )}
          </For>
        </select>
      </div>
      <div class="row">
        <button type="button" onClick={add} disabled={!prov() || noOutline()}>
          {bt.send.addArea}
        </button>
      </div>
      <Show when={noOutline()}>
        <p class="field-error" data-testid="no-boundary">
          {bt.send.noBoundaryHint(picked()!.name)}
        </p>
      </Show>
      <div class="chips">
        <For each={props.value}>
          {(a) => (
            <span class="chip" data-code={a.code}>
              {a.name}
              <button
                type="button"
                class="link"
                aria-label={bt.send.removeArea(a.name)}
                onClick={() => props.onChange(props.value.filter((v) => v.code !== a.code))}
              >
                ×
              </button>
            </span>
          )}
        </For>
      </div>
      <Show when={props.error}>
        <p class="field-error">{props.error}</p>
      </Show>
    </div>
  );
}
