import { For, Index } from 'solid-js';
import { reconcile } from 'solid-js/store';
import type { CrowdRule } from '@geo/alerting';
import { bt } from '../zh-CN.ts';
import { FieldError, type FormSectionProps } from './form-section.tsx';
import { RuleValue } from './rule-value.tsx';

/** 人群筛选: keep or exclude people by gender, age, home, locality or carrier. */
export function CrowdRules(props: FormSectionProps) {
  const setRule = (i: number, r: CrowdRule) => props.setForm('rules', i, reconcile(r));
  const newRule = (attr: string): CrowdRule => {
    switch (attr) {
      case 'gender':
        return { attribute: 'gender', action: 'keep', values: ['f'] };
      case 'age':
        return { attribute: 'age', action: 'keep', min: 18, max: 60 };
      case 'home':
        return { attribute: 'home', action: 'keep', codes: ['330100'] };
      case 'carrier':
        return { attribute: 'carrier', action: 'keep', values: ['cmcc'] };
      default:
        return { attribute: 'locality', action: 'keep', value: 'roaming' };
    }
  };

  return (
    <fieldset class="field">
      <legend>{bt.send.rules}</legend>
      <Index each={props.form.rules}>
        {(r, i) => (
          <div class="row rule">
            <select
              value={r().action}
              onChange={(e) => setRule(i, { ...r(), action: e.currentTarget.value === 'exclude' ? 'exclude' : 'keep' } as CrowdRule)}
            >
              <option value="keep">{bt.send.keep}</option>
              <option value="exclude">{bt.send.exclude}</option>
            </select>
            <select
              value={r().attribute}
              onChange={(e) => setRule(i, { ...newRule(e.currentTarget.value), action: r().action } as CrowdRule)}
            >
              <For each={Object.entries(bt.send.attrs)}>{([k, v]) => <option value={k}>{v}</option>}</For>
            </select>
            <RuleValue rule={r()} onChange={(x) => setRule(i, x)} />
            <button
              type="button"
              class="link"
              onClick={() =>
                props.setForm(
                  'rules',
                  props.form.rules.filter((_, j) => j !== i),
                )
              }
            >
              ×
            </button>
            <FieldError errs={props.errs} at={`rules.${i}`} />
          </div>
        )}
      </Index>
      <button type="button" class="link" onClick={() => props.setForm('rules', [...props.form.rules, newRule('gender')])}>
        + {bt.send.addRule}
      </button>
    </fieldset>
  );
}
