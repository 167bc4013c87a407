import { For, Show } from 'solid-js';
import { CARRIERS } from '../form-model.ts';
import { bt } from '../zh-CN.ts';
import { etaText, type ProgressView } from './task-model.ts';

/** A task's live progress: matched, per carrier sent / delivered / failed (and queued, rate, ETA under carrier limits), skipped by reason. */
export function ProgressTable(props: { progress: ProgressView | null; state?: string }) {
  const progress = () => props.progress;
  return (
    <Show
      when={progress()}
      fallback={
        <p class="muted small" data-testid="no-progress">
          {bt.tasks.noProgressYet[props.state ?? ''] ?? bt.tasks.noProgress}
        </p>
      }
    >
      {(p) => (
        <div data-testid="progress">
          <p>
            {bt.tasks.labelled(bt.tasks.matched)}
            <b data-testid="progress-matched">{p().matched === 0 && p().k ? bt.tasks.underK(p().k!) : p().matched}</b>
          </p>
          <table class="grid">
            <thead>
              <tr>
                <th />
                <th>{bt.tasks.sent}</th>
                <th>{bt.tasks.delivered}</th>
                <th>{bt.tasks.failed}</th>
                <Show when={p().queue}>
                  <th>{bt.tasks.queued}</th>
                  <th>{bt.tasks.perMinute}</th>
                  <th>{bt.tasks.eta}</th>
                </Show>
              </tr>
            </thead>
            <tbody>
              <For each={CARRIERS}>
                {(c) => (
                  <tr>
                    <td>{bt.carriers[c]}</td>
                    <td>{p().carriers[c]?.sent ?? 0}</td>
                    <td>{p().carriers[c]?.delivered ?? 0}</td>
                    <td>{p().carriers[c]?.failed ?? 0}</td>
                    <Show when={p().queue}>
                      {(q) => (
                        <>
                          <td data-col="queued">{q()[c]?.queued ?? 0}</td>
                          <td data-col="rate">{q()[c]?.perMinute ?? 0}</td>
                          <td data-col="eta">{etaText(q()[c]?.etaAt)}</td>
                        </>
                      )}
                    </Show>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
          <p class="small">
            {bt.tasks.labelled(bt.tasks.skipped)}
            {bt.tasks.joinList(
              Object.entries(p().skipped)
                .filter(([, n]) => n > 0)
                .map(([r, n]) => `${bt.tasks.reasons[r] ?? r} ${n}`),
            )}
          </p>
          <Show when={p().k}>{(k) => <p class="muted small">{bt.tasks.peopleOnGrid(k())}</p>}</Show>
        </div>
      )}
    </Show>
  );
}
