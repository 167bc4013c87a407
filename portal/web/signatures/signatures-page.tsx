import { createResource, For, Show } from 'solid-js';
import { del, get, post } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Badge, Empty, notify, notifyError, Page, fmtTime } from '../ui/ui.tsx';

export interface Signature {
  id: string;
  text: string;
  status: 'pending' | 'approved' | 'rejected';
  reason: string;
  isDefault: boolean;
  submittedBy: string | null;
  enterpriseName?: string;
  createdAt: string;
}

const S = t.signatures;
export const statusBadge = (s: Signature['status']) =>
  s === 'approved' ? <Badge kind="ok">{S.approved}</Badge> : s === 'pending' ? <Badge kind="warn">{S.pending}</Badge> : <Badge kind="err">{S.rejected}</Badge>;

/** 签名管理: submit (pending review), set default, delete; review results come from the operator. */
export function SignaturesPage() {
  const [list, { refetch }] = createResource(() => get<{ items: Signature[] }>('/api/signatures').then((r) => r.items));
  const act = async (fn: () => Promise<unknown>, msg: string = t.common.saved) => {
    try {
      await fn();
      notify('ok', msg);
      void refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  return (
    <Page title={S.title}>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          const input = e.currentTarget.elements.namedItem('text') as HTMLInputElement;
          void act(() => post('/api/signatures', { text: input.value })).then(() => (input.value = ''));
        }}
      >
        <input name="text" placeholder={S.text} maxlength={20} required />
        <button type="submit" class="primary">
          {S.add}
        </button>
        <span class="muted small">{S.hint}</span>
      </form>
      <table class="grid" data-testid="signatures-table">
        <thead>
          <tr>
            <th>{S.text}</th>
            <th>{t.common.status}</th>
            <th>{S.reason}</th>
            <th>{t.common.createdAt}</th>
            <th>{t.common.actions}</th>
          </tr>
        </thead>
        <tbody>
          <For each={list() ?? []}>
            {(s) => (
              <tr data-signature={s.text} data-status={s.status}>
                <td>
                  【{s.text}】
                  <Show when={s.isDefault}>
                    <Badge kind="muted">{S.isDefault}</Badge>
                  </Show>
                </td>
                <td>{statusBadge(s.status)}</td>
                <td>{s.reason || '—'}</td>
                <td>{fmtTime(s.createdAt)}</td>
                <td>
                  <Show when={s.status === 'approved' && !s.isDefault}>
                    <button type="button" class="link" onClick={() => void act(() => post(`/api/signatures/${s.id}/default`))}>
                      {S.setDefault}
                    </button>
                  </Show>
                  <button type="button" class="link danger" onClick={() => confirm(t.common.confirmDelete) && void act(() => del(`/api/signatures/${s.id}`), t.common.deleted)}>
                    {t.common.delete}
                  </button>
                </td>
              </tr>
            )}
          </For>
          <Empty when={list()?.length === 0} cols={5} />
        </tbody>
      </table>
    </Page>
  );
}
