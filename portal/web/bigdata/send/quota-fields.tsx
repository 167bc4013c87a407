import { For, Show } from 'solid-js';
import { CARRIERS } from '../form-model.ts';
import { bt } from '../zh-CN.ts';
import { FieldError, type FormSectionProps } from './form-section.tsx';

/** 发送条数: per carrier the total and the daily cap, against the balance. */
export function QuotaFields(props: FormSectionProps & { balance: number }) {
  const quotaSum = () => CARRIERS.reduce((s, c) => s + (props.form.quota[c].on ? props.form.quota[c].total || 0 : 0), 0);
  return (
    <fieldset class="field">
      <legend>
        {bt.send.quota}
        <em>*</em>
      </legend>
      <table class="quota">
        <thead>
          <tr>
            <th />
            <th>{bt.send.total}</th>
            <th>{bt.send.dailyCap}</th>
          </tr>
        </thead>
        <tbody>
          <For each={CARRIERS}>
            {(c) => (
              <tr>
                <td>
                  <label>
                    <input
                      type="checkbox"
                      checked={props.form.quota[c].on}
                      onChange={(e) => props.setForm('quota', c, 'on', e.currentTarget.checked)}
                    />{' '}
                    {bt.carriers[c]}
                  </label>
                </td>
                <td>
                  <input
                    type="number"
                    min={0}
                    name={`quota.${c}.total`}
                    disabled={!props.form.quota[c].on}
                    value={props.form.quota[c].total || ''}
                    onInput={(e) => props.setForm('quota', c, 'total', Number(e.currentTarget.value) || 0)}
                  />
                  <FieldError errs={props.errs} at={`quota.${c}.total`} />
                </td>
                <td>
                  <input
                    type="number"
                    min={0}
                    name={`quota.${c}.dailyCap`}
                    disabled={!props.form.quota[c].on}
                    value={props.form.quota[c].dailyCap || ''}
                    onInput={(e) => props.setForm('quota', c, 'dailyCap', Number(e.currentTarget.value) || 0)}
                  />
                  <FieldError errs={props.errs} at={`quota.${c}.dailyCap`} />
                </td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
      <small classList={{ muted: quotaSum() <= props.balance, error: quotaSum() > props.balance }}>
        {bt.send.balance(quotaSum(), props.balance)}
      </small>
      <Show when={props.errs.quota}>
        <p class="field-error" data-field="quota">
          {props.errs.quota}
        </p>
      </Show>
    </fieldset>
  );
}
