import { For, Show } from 'solid-js';
import type { CrowdRule } from '@geo/alerting';
import { CARRIERS } from '../form-model.ts';
import { bt } from '../zh-CN.ts';

/** The value field of one crowd rule in the send form: gender, age range, carrier, home or locality. */
export function RuleValue(props: { rule: CrowdRule; onChange: (r: CrowdRule) => void }) {
  const r = () => props.rule;
  return (
    <>
      <Show when={r().attribute === 'gender'}>
        <select
          value={(r() as Extract<CrowdRule, { attribute: 'gender' }>).values[0]}
          onChange={(e) =>
            props.onChange({ ...(r() as Extract<CrowdRule, { attribute: 'gender' }>), values: [e.currentTarget.value === 'm' ? 'm' : 'f'] })
          }
        >
          <option value="f">{bt.send.female}</option>
          <option value="m">{bt.send.male}</option>
        </select>
      </Show>
      <Show when={r().attribute === 'age'}>
        {(() => {
          const a = () => r() as Extract<CrowdRule, { attribute: 'age' }>;
          return (
            <>
              <input
                type="number"
                class="short"
                min={0}
                max={120}
                value={a().min}
                onInput={(e) => props.onChange({ ...a(), min: Number(e.currentTarget.value) || 0 })}
              />
              <span>—</span>
              <input
                type="number"
                class="short"
                min={0}
                max={120}
                value={a().max}
                onInput={(e) => props.onChange({ ...a(), max: Number(e.currentTarget.value) || 0 })}
              />
            </>
          );
        })()}
      </Show>
      <Show when={r().attribute === 'home'}>
        <input
          placeholder={bt.send.homeCodes}
          value={(r() as Extract<CrowdRule, { attribute: 'home' }>).codes.join(',')}
          onChange={(e) =>
            props.onChange({
              ...(r() as Extract<CrowdRule, { attribute: 'home' }>),
              codes: e.currentTarget.value.split(/[,，\s]+/).filter(Boolean),
            })
          }
        />
      </Show>
      <Show when={r().attribute === 'locality'}>
        <select
          value={(r() as Extract<CrowdRule, { attribute: 'locality' }>).value}
          onChange={(e) =>
            props.onChange({
              ...(r() as Extract<CrowdRule, { attribute: 'locality' }>),
              value: e.currentTarget.value === 'local' ? 'local' : 'roaming',
            })
          }
        >
          <option value="roaming">{bt.send.roaming}</option>
          <option value="local">{bt.send.local}</option>
        </select>
        <span class="muted small" data-testid="locality-rule">
          {bt.send.localityRule}
        </span>
      </Show>
      <Show when={r().attribute === 'carrier'}>
        <select
          value={(r() as Extract<CrowdRule, { attribute: 'carrier' }>).values[0]}
          onChange={(e) =>
            props.onChange({ ...(r() as Extract<CrowdRule, { attribute: 'carrier' }>), values: [e.currentTarget.value as 'cmcc'] })
          }
        >
          <For each={CARRIERS}>{(c) => <option value={c}>{bt.carriers[c]}</option>}</For>
        </select>
      </Show>
    </>
  );
}
