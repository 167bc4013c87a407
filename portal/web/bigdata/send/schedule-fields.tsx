import { Index } from 'solid-js';
import { bt } from '../zh-CN.ts';
import { FieldError, type FormSectionProps } from './form-section.tsx';

/** When the task sends: start and end dates, daily windows, how often, the dwell before sending. */
export function ScheduleFields(props: FormSectionProps) {
  return (
    <>
      <div class="form-grid">
        <label class="field">
          <span>{bt.send.startDate}</span>
          <input
            type="date"
            name="startDate"
            value={props.form.startDate}
            onInput={(e) => props.setForm('startDate', e.currentTarget.value)}
          />
          <FieldError errs={props.errs} at="startDate" />
        </label>
        <label class="field">
          <span>{bt.send.endDate}</span>
          <input type="date" name="endDate" value={props.form.endDate} onInput={(e) => props.setForm('endDate', e.currentTarget.value)} />
          <FieldError errs={props.errs} at="endDate" />
        </label>
      </div>

      <fieldset class="field">
        <legend>{bt.send.windows}</legend>
        <Index each={props.form.windows}>
          {(w, i) => (
            <div class="row">
              <input type="time" value={w().start} onInput={(e) => props.setForm('windows', i, 'start', e.currentTarget.value)} />
              <span>—</span>
              <input type="time" value={w().end} onInput={(e) => props.setForm('windows', i, 'end', e.currentTarget.value)} />
              <button
                type="button"
                class="link"
                onClick={() =>
                  props.setForm(
                    'windows',
                    props.form.windows.filter((_, j) => j !== i),
                  )
                }
              >
                ×
              </button>
              <FieldError errs={props.errs} at={`windows.${i}`} />
            </div>
          )}
        </Index>
        <button
          type="button"
          class="link"
          onClick={() => props.setForm('windows', [...props.form.windows, { start: '08:00', end: '20:00' }])}
        >
          + {bt.send.addWindow}
        </button>
        <small class="muted">{bt.send.allDay}</small>
      </fieldset>

      {/* The frequency's longer label gets the wider column: at half it read 按日去重（每天发送一次 (cut). */}
      <div class="form-grid" style={{ 'grid-template-columns': 'minmax(0, 3fr) minmax(0, 2fr)' }}>
        <label class="field">
          <span>{bt.send.frequency}</span>
          <select
            name="frequency"
            value={props.form.frequency}
            onChange={(e) => props.setForm('frequency', e.currentTarget.value === 'once' ? 'once' : 'daily')}
          >
            <option value="daily">{bt.send.daily}</option>
            <option value="once">{bt.send.once}</option>
          </select>
        </label>
        <label class="field">
          <span>{bt.send.minDwell}</span>
          <input
            type="number"
            min={0}
            name="minDwellMin"
            value={props.form.minDwellMin}
            onInput={(e) => props.setForm('minDwellMin', Number(e.currentTarget.value) || 0)}
          />
          <FieldError errs={props.errs} at="minDwellMin" />
        </label>
      </div>
    </>
  );
}
