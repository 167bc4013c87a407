import { createResource, createSignal, For, Show } from 'solid-js';
import { get, qs } from '../../lib/api.ts';
import { Empty, Pager } from '../../ui/ui.tsx';
import { bt } from '../zh-CN.ts';
import type { Recipient } from './task-model.ts';

/** 查看明细: who was sent the task, number masked, carrier, status and time, a page at a time. */
export function Recipients(props: { id: string }) {
  const [page, setPage] = createSignal(1);
  const [rows, { refetch }] = createResource(page, (p) =>
    get<{ total: number; page: number; pageSize: number; logAvailable: boolean; items: Recipient[] }>(
      `/api/bigdata/tasks/${props.id}/recipients${qs({ page: p, pageSize: 10 })}`,
    ),
  );
  return (
    <section data-testid="recipients">
      <h3>
        {bt.tasks.recipients}{' '}
        <button type="button" class="link" onClick={() => void refetch()}>
          {bt.tasks.refresh}
        </button>
      </h3>
      <Show when={rows()?.logAvailable !== false} fallback={<p class="muted small">{bt.tasks.noLog}</p>}>
        <table class="grid">
          <thead>
            <tr>
              <th>{bt.tasks.msisdn}</th>
              <th>{bt.tasks.carrier}</th>
              <th>{bt.tasks.sendState}</th>
              <th>{bt.tasks.sentAt}</th>
              <th>{bt.tasks.statusAt}</th>
            </tr>
          </thead>
          <tbody>
            <For each={rows()?.items}>
              {(r) => (
                <tr data-state={r.state}>
                  <td>{r.msisdn}</td>
                  <td>{r.carrierLabel}</td>
                  <td>
                    {r.stateLabel}
                    {r.code ? bt.tasks.inParens(r.code) : ''}
                  </td>
                  <td>{r.submittedAt}</td>
                  <td>{r.statusAt}</td>
                </tr>
              )}
            </For>
            <Empty when={rows()?.items.length === 0} cols={5} />
          </tbody>
        </table>
        <Pager page={page()} pageSize={rows()?.pageSize ?? 10} total={rows()?.total ?? 0} onPage={setPage} />
      </Show>
    </section>
  );
}
