import { For, Show } from 'solid-js';
import { ct } from './zh-CN.ts';

export interface CheckInOptionValue {
  code: string;
  label: string;
  help?: boolean;
  /** The answer's meaning in the English SMS's prompt ("if trapped"); absent: a known label's, else "for option N". */
  labelEn?: string;
}
/** The form's `checkIn` (BigdataCheckIn), or undefined when the task asks for no answers. */
export type CheckInValue = { options: CheckInOptionValue[] } | undefined;

/**
 * 回复报平安 on the send form (#21): a box that asks recipients to answer, the answers (code, meaning,
 * whether it asks for help), and a button that appends the prompt ("回复1表示安全，回复2表示需要帮助")
 * to the message. The page keeps the value and sends it as the form's `checkIn`.
 * @example <CheckInField value={checkIn()} onChange={setCheckIn} onPrompt={(p) => setContent(content() + p)} />
 */
export function CheckInField(props: { value: CheckInValue; onChange: (v: CheckInValue) => void; onPrompt?: (text: string) => void }) {
  const options = () => props.value?.options ?? [];
  const set = (i: number, patch: Partial<CheckInOptionValue>) =>
    props.onChange({ options: options().map((o, j) => (j === i ? { ...o, ...patch } : o)) });
  return (
    <fieldset class="bd-checkin-field" data-testid="checkin-field">
      <label>
        <input
          type="checkbox"
          checked={!!props.value}
          data-field="checkIn"
          onChange={(e) => props.onChange(e.currentTarget.checked ? { options: ct.defaults.map((o) => ({ ...o })) } : undefined)}
        />{' '}
        {ct.enable}
      </label>
      <p class="muted small">{ct.enableHint}</p>
      <Show when={props.value}>
        <table class="grid small">
          <thead>
            <tr>
              <th>{ct.code}</th>
              <th>{ct.label}</th>
              <th title={ct.labelEnHint}>{ct.labelEn}</th>
              <th>{ct.help}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            <For each={options()}>
              {(o, i) => (
                <tr>
                  <td>
                    <input
                      size={4}
                      maxLength={4}
                      value={o.code}
                      aria-label={ct.code}
                      onInput={(e) => set(i(), { code: e.currentTarget.value })}
                    />
                  </td>
                  <td>
                    <input
                      maxLength={20}
                      value={o.label}
                      aria-label={ct.label}
                      onInput={(e) => set(i(), { label: e.currentTarget.value })}
                    />
                  </td>
                  <td>
                    <input
                      maxLength={40}
                      value={o.labelEn ?? ''}
                      aria-label={ct.labelEn}
                      title={ct.labelEnHint}
                      data-field={`checkIn.options.${i()}.labelEn`}
                      onInput={(e) => set(i(), { labelEn: e.currentTarget.value.trim() ? e.currentTarget.value : undefined })}
                    />
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      checked={!!o.help}
                      aria-label={ct.help}
                      onChange={(e) => set(i(), { help: e.currentTarget.checked })}
                    />
                  </td>
                  <td>
                    <Show when={options().length > 2}>
                      <button type="button" onClick={() => props.onChange({ options: options().filter((_, j) => j !== i()) })}>
                        {ct.removeOption}
                      </button>
                    </Show>
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
        <Show when={options().length < 9}>
          <button
            type="button"
            onClick={() => props.onChange({ options: [...options(), { code: String(options().length + 1), label: '' }] })}
          >
            {ct.addOption}
          </button>
        </Show>{' '}
        <Show when={props.onPrompt}>
          <button type="button" data-action="checkin-prompt" onClick={() => props.onPrompt!(ct.prompt(options()))}>
            {ct.insertPrompt}
          </button>
        </Show>
      </Show>
    </fieldset>
  );
}
