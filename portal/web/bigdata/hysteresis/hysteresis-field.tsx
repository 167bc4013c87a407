import { ht } from './zh-CN.ts';

/** The task form's and the insight query's `hysteresis` (see the portal's HysteresisForm). */
export interface Hysteresis {
  bufferMeters?: number;
  minOutsideSeconds?: number;
}

/**
 * The send page's advanced option 边缘防抖 (#21): a buffer in metres and a time away in minutes
 * (sent as seconds). Both 0 (or empty) gives `undefined`: no hysteresis, every entry counts.
 */
export function HysteresisField(props: { value: Hysteresis | undefined; onChange: (v: Hysteresis | undefined) => void; error?: string }) {
  const set = (patch: Hysteresis) => {
    const next = { ...props.value, ...patch };
    props.onChange((next.bufferMeters ?? 0) > 0 || (next.minOutsideSeconds ?? 0) > 0 ? next : undefined);
  };
  const num = (s: string) => (s.trim() === '' ? 0 : Number(s));
  return (
    <fieldset class="field hysteresis" data-testid="hysteresis">
      <legend>{ht.legend}</legend>
      <p class="hint">{ht.hint}</p>
      <div class="row">
        <label class="field">
          <span>{ht.bufferMeters}</span>
          <input
            type="number"
            min={0}
            max={5000}
            name="hysteresisBufferMeters"
            value={props.value?.bufferMeters ?? 0}
            onInput={(e) => set({ bufferMeters: num(e.currentTarget.value) })}
          />
        </label>
        <label class="field">
          <span>{ht.minOutsideMinutes}</span>
          <input
            type="number"
            min={0}
            max={1440}
            name="hysteresisMinOutsideMinutes"
            value={Math.round((props.value?.minOutsideSeconds ?? 0) / 60)}
            onInput={(e) => set({ minOutsideSeconds: Math.round(num(e.currentTarget.value) * 60) })}
          />
        </label>
      </div>
      {props.error ? (
        <p class="field-error" data-field="hysteresis">
          {props.error}
        </p>
      ) : null}
    </fieldset>
  );
}
