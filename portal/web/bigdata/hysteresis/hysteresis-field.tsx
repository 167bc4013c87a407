import { hysteresisProblem, MAX_BUFFER_M, MAX_OUTSIDE_MIN } from './hysteresis-problem.ts';
import { ht } from './zh-CN.ts';

/** The task form's and the insight query's `hysteresis` (see the portal's HysteresisForm). */
export interface Hysteresis {
  bufferMeters?: number;
  minOutsideSeconds?: number;
}

/**
 * The send page's advanced option 边缘防抖 (#21): a buffer in metres and a time away in minutes
 * (sent as seconds). Both 0 (or empty) gives `undefined`: no hysteresis, every entry counts. A value
 * out of range is said beside the field as soon as it is typed (and still sent, so a submit gets the
 * server's word on it too); `error` is the server's message for the field after a submit.
 */
export function HysteresisField(props: { value: Hysteresis | undefined; onChange: (v: Hysteresis | undefined) => void; error?: string }) {
  const set = (patch: Hysteresis) => {
    const next = { ...props.value, ...patch };
    // Anything but zero is kept, a bad value too: cleared, the field would show 0 instead of what was typed.
    props.onChange((next.bufferMeters ?? 0) !== 0 || (next.minOutsideSeconds ?? 0) !== 0 ? next : undefined);
  };
  const num = (s: string) => (s.trim() === '' ? 0 : Number(s));
  const message = () => hysteresisProblem(props.value) || props.error || '';
  return (
    <fieldset class="field hysteresis" data-testid="hysteresis">
      <legend>{ht.legend}</legend>
      <p class="muted small">{ht.hint}</p>
      <div class="row">
        <label class="field">
          <span>{ht.bufferMeters}</span>
          <input
            type="number"
            min={0}
            max={MAX_BUFFER_M}
            name="hysteresisBufferMeters"
            value={props.value?.bufferMeters ?? 0}
            aria-invalid={(props.value?.bufferMeters ?? 0) < 0 || (props.value?.bufferMeters ?? 0) > MAX_BUFFER_M}
            onInput={(e) => set({ bufferMeters: num(e.currentTarget.value) })}
          />
        </label>
        <label class="field">
          <span>{ht.minOutsideMinutes}</span>
          <input
            type="number"
            min={0}
            max={MAX_OUTSIDE_MIN}
            name="hysteresisMinOutsideMinutes"
            value={Math.round((props.value?.minOutsideSeconds ?? 0) / 60)}
            onInput={(e) => set({ minOutsideSeconds: Math.round(num(e.currentTarget.value) * 60) })}
          />
        </label>
      </div>
      {message() ? (
        <p class="field-error" data-field="hysteresis">
          {message()}
        </p>
      ) : null}
    </fieldset>
  );
}
