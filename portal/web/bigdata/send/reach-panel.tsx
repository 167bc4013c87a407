import { For, Show } from 'solid-js';
import { CARRIERS } from '../form-model.ts';
import { bt } from '../zh-CN.ts';

/** A released count: a number ≥ k, or withheld under k (zero included). */
interface Released {
  value: number | null;
  suppressed: boolean;
}
export interface Reach {
  instances: number;
  k: number;
  present: Record<string, Released>;
  passing: Record<string, Released>;
  allowedToday: Record<string, Released>;
  total: { present: Released; passing: Released; allowedToday: Released };
  errors: string[];
}
/** 预计触达: the released counts of the region per carrier (under k shown as “< k”). */
export function ReachPanel(props: { reach: Reach | { error: string } | null }) {
  const shown = (n: Released | undefined, k: number) => (!n || n.suppressed || n.value === null ? bt.send.reachUnderK(k) : String(n.value));
  return (
    <div class="bd-reach card" data-testid="reach">
      <h3>{bt.send.reach}</h3>
      <Show when={props.reach} fallback={<p class="muted small">{bt.send.reachWaiting}</p>}>
        {(r) => (
          <Show when={!('error' in r())} fallback={<p class="error small">{(r() as { error: string }).error}</p>}>
            {(() => {
              const x = r() as Reach;
              return (
                <>
                  <table class="reach-table">
                    <thead>
                      <tr>
                        <th />
                        <For each={CARRIERS}>{(c) => <th>{bt.carriers[c]}</th>}</For>
                        <th>{bt.send.sum}</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For
                        each={
                          [
                            ['present', bt.send.reachNow],
                            ['passing', bt.send.reachPassing],
                            ['allowedToday', bt.send.reachAllowed],
                          ] as const
                        }
                      >
                        {([k, label]) => (
                          <tr data-row={k}>
                            <td>{label}</td>
                            <For each={CARRIERS}>{(c) => <td>{shown(x[k][c], x.k)}</td>}</For>
                            <td>
                              <b>{shown(x.total[k], x.k)}</b>
                            </td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                  <p class="muted small" data-testid="reach-privacy">
                    {bt.send.reachPrivacy(x.k)}
                  </p>
                  <Show when={x.instances === 0}>
                    <p class="muted small">{bt.send.reachNone}</p>
                  </Show>
                </>
              );
            })()}
          </Show>
        )}
      </Show>
    </div>
  );
}
