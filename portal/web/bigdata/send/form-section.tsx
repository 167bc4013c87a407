import { Show } from 'solid-js';
import type { SetStoreFunction } from 'solid-js/store';
import type { SendForm } from '../form-model.ts';
import { bt } from '../zh-CN.ts';

/** What each part of the send form gets: the one form store and the errors by field path. */
export interface FormSectionProps {
  form: SendForm;
  setForm: SetStoreFunction<SendForm>;
  errs: Record<string, string>;
}

/** Messages of the fields at `prefix` (and below it). */
export const errorsAt = (errs: Record<string, string>, prefix: string) =>
  bt.send.joinErrors(
    Object.entries(errs)
      .filter(([p]) => p === prefix || p.startsWith(`${prefix}.`))
      .map(([, m]) => m),
  );

export function FieldError(props: { errs: Record<string, string>; at: string }) {
  return (
    <Show when={errorsAt(props.errs, props.at)}>
      <p class="field-error" data-field={props.at}>
        {errorsAt(props.errs, props.at)}
      </p>
    </Show>
  );
}
