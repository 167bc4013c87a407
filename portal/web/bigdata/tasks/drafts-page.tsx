import { createResource, createSignal, For, Show } from 'solid-js';
import { del, get } from '../../lib/api.ts';
import { navigate } from '../../lib/router.tsx';
import { askConfirm } from '../../ui/dialog.tsx';
import { Badge, Empty, fmtTime, notify, notifyError, Page, Pager } from '../../ui/ui.tsx';
import { bt } from '../zh-CN.ts';
import type { TaskSummary } from './task-model.ts';

/** 大数据短信-草稿箱: edit and send, or delete. */
export function DraftsPage() {
  const [page, setPage] = createSignal(1);
  const [list, { refetch }] = createResource(page, (p) =>
    get<{ total: number; pageSize: number; items: TaskSummary[] }>(`/api/bigdata/drafts?page=${p}`),
  );
  const remove = async (id: string) => {
    if (!(await askConfirm(bt.tasks.confirmDeleteDraft, { danger: true }))) return;
    try {
      await del(`/api/bigdata/drafts/${id}`);
      notify('ok', bt.tasks.deleted);
      void refetch();
    } catch (e) {
      notifyError(e);
    }
  };
  return (
    <Page title={bt.tasks.draftsTitle}>
      <table class="grid" data-testid="drafts">
        <thead>
          <tr>
            <th>{bt.tasks.subject}</th>
            <th>{bt.tasks.type}</th>
            <th>{bt.tasks.createdBy}</th>
            <th>{bt.tasks.savedAt}</th>
            <th>{bt.tasks.actions}</th>
          </tr>
        </thead>
        <tbody>
          <For each={list()?.items}>
            {(d) => (
              <tr data-draft={d.id}>
                <td>
                  {d.subject || bt.tasks.untitled}
                  <Show when={d.exercise}>
                    {' '}
                    <Badge kind="warn">{bt.tasks.exercise}</Badge>
                  </Show>
                </td>
                <td>{d.alertTypeLabel}</td>
                <td>{d.accountName}</td>
                <td>{fmtTime(d.createdAt)}</td>
                <td>
                  <button type="button" class="link" onClick={() => navigate(`/bigdata/send?draft=${d.id}`)}>
                    {bt.tasks.edit} / {bt.tasks.send}
                  </button>
                  <button type="button" class="link danger" onClick={() => void remove(d.id)}>
                    {bt.tasks.delete}
                  </button>
                </td>
              </tr>
            )}
          </For>
          <Empty when={list()?.items.length === 0} cols={5} />
        </tbody>
      </table>
      <Pager page={page()} pageSize={list()?.pageSize ?? 20} total={list()?.total ?? 0} onPage={setPage} />
    </Page>
  );
}
