import { createSignal, For, Show } from 'solid-js';
import { ApiError, post } from '../lib/api.ts';
import { CARRIERS } from './form-model.ts';
import { bt } from './zh-CN.ts';
import { wt } from './what-if/zh-CN.ts';

interface Released {
  value: number | null;
  suppressed: boolean;
}
type PerCarrier = Record<'cmcc' | 'cucc' | 'ctcc' | 'total', Released>;
export interface WhatIf {
  k: number;
  from: string;
  to: string;
  reached: PerCarrier;
  series: { at: string; reached: PerCarrier }[];
  areas: { h3: string; count: Released }[];
  tookMs: number;
  /** false: no move at all was recorded in the window (before the history began), so nobody could be found. */
  windowHasHistory: boolean;
}

const HOUR = 3600_000;
/** The replay window's fields (this panel's own inputs); every other path is a field of the draft. */
const WINDOW_PATHS = new Set(['from', 'to', 'bucketMin', 'h3Res']);
/** `YYYY-MM-DDTHH:MM` in China time, for a datetime-local input. */
const local = (ms: number) => new Date(ms + 8 * HOUR).toISOString().slice(0, 16);
const fromLocal = (s: string) => Date.parse(`${s}:00+08:00`);
/** Yesterday 08:00–20:00, China time. */
function yesterday(): [string, string] {
  const day = local(Date.now() - 24 * HOUR).slice(0, 10);
  return [`${day}T08:00`, `${day}T20:00`];
}

/**
 * 回放预演 (#21): the draft (the same form a submit sends) run over a past window from the history,
 * nothing sent. Shown beside the reach estimate; figures under k as “< k”, as everywhere.
 * @param props.form the draft as `POST /api/bigdata/tasks` takes it (toPayload of the send form)
 * @param props.hasRegion whether the draft has a region yet
 */
export function WhatIfPanel(props: {
  form: () => unknown;
  hasRegion: () => boolean;
  /** The draft's own problems (a quota not filled …): the page marks them at their fields, as a submit's. */
  onFormErrors?: (e: ApiError) => void;
}) {
  const [[from, to], setWindow] = [createSignal(yesterday()[0]), createSignal(yesterday()[1])].reduce(
    (acc, [get, set]) => [
      [...acc[0], get],
      [...acc[1], set],
    ],
    [[], []] as [(() => string)[], ((v: string) => void)[]],
  );
  const [busy, setBusy] = createSignal(false);
  const [result, setResult] = createSignal<WhatIf | { error: string; form?: boolean } | null>(null);
  const shown = (n: Released | undefined, k: number) => (!n || n.suppressed || n.value === null ? wt.underK(k) : String(n.value));
  const run = async () => {
    setBusy(true);
    try {
      setResult(
        await post<WhatIf>('/api/bigdata/what-if', { form: props.form(), from: fromLocal(from!()), to: fromLocal(to!()), bucketMin: 60 }),
      );
    } catch (e) {
      // The window's own problems stay here; the draft's go to their fields in the form, named in
      // words (the panel showed "quota.cmcc.total: 须大于 0" with nothing marked, #23 walk).
      const inForm = e instanceof ApiError ? (e.details ?? []).filter((d) => !WINDOW_PATHS.has(d.path)) : [];
      if (e instanceof ApiError && inForm.length && props.onFormErrors) {
        props.onFormErrors(new ApiError(e.status, e.code, e.message, inForm));
        const own = (e.details ?? []).filter((d) => WINDOW_PATHS.has(d.path)).map((d) => d.message);
        setResult({ error: bt.send.joinErrors([wt.fixForm(inForm.length), ...own]), form: true });
      } else setResult({ error: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="bd-reach card" data-testid="what-if">
      <h3>{wt.title}</h3>
      <p class="muted small">{wt.hint}</p>
      <div class="row small">
        {/* Each label with its input on one line: 结束时间 stood at one line's end, its input on the next. */}
        <label style={{ 'white-space': 'nowrap' }}>
          {wt.from} <input type="datetime-local" value={from!()} onInput={(e) => setWindow[0]!(e.currentTarget.value)} />
        </label>
        <label style={{ 'white-space': 'nowrap' }}>
          {wt.to} <input type="datetime-local" value={to!()} onInput={(e) => setWindow[1]!(e.currentTarget.value)} />
        </label>
        <button
          type="button"
          onClick={() => {
            const [a, b] = yesterday();
            setWindow[0]!(a);
            setWindow[1]!(b);
          }}
        >
          {wt.yesterday}
        </button>
        <button type="button" class="primary" disabled={busy() || !props.hasRegion()} onClick={() => void run()}>
          {busy() ? wt.running : wt.run}
        </button>
      </div>
      <Show when={!props.hasRegion()}>
        <p class="muted small">{wt.needRegion}</p>
      </Show>
      <Show when={result()}>
        {(r) => (
          <Show
            when={!('error' in r())}
            fallback={
              <p class="error small" data-testid="what-if-error">
                {(r() as { error: string }).error}
              </p>
            }
          >
            {(() => {
              const x = r() as WhatIf;
              return (
                <>
                  <Show when={!x.windowHasHistory}>
                    <p class="error small" data-testid="what-if-no-history">
                      {wt.noHistory}
                    </p>
                  </Show>
                  <table class="reach-table" data-testid="what-if-reached">
                    <thead>
                      <tr>
                        <th />
                        <For each={CARRIERS}>{(c) => <th>{bt.carriers[c]}</th>}</For>
                        <th>{wt.sum}</th>
                      </tr>
                    </thead>
                    <tbody>
                      <tr>
                        <td>{wt.reached}</td>
                        <For each={CARRIERS}>{(c) => <td>{shown(x.reached[c as 'cmcc'], x.k)}</td>}</For>
                        <td>
                          <b>{shown(x.reached.total, x.k)}</b>
                        </td>
                      </tr>
                    </tbody>
                  </table>
                  <p class="small">{wt.when}</p>
                  <table class="reach-table small" data-testid="what-if-series">
                    <tbody>
                      <For each={x.series}>
                        {(p) => (
                          <tr>
                            <td>{local(Date.parse(p.at)).slice(5).replace('T', ' ')}</td>
                            <td>{shown(p.reached.total, x.k)}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                  <p class="muted small">
                    {wt.areas(x.areas.length)} · {wt.took(x.tookMs)}
                  </p>
                  <p class="muted small">{wt.privacy(x.k)}</p>
                  <p class="muted small">{wt.note}</p>
                </>
              );
            })()}
          </Show>
        )}
      </Show>
    </div>
  );
}
