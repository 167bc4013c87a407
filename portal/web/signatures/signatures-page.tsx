import { createResource, Show } from 'solid-js';
import { del, get, post } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Badge, confirmDelete, Grid, Page, runAction, fmtTime } from '../ui/ui.tsx';

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
  s === 'approved' ? (
    <Badge kind="ok">{S.approved}</Badge>
  ) : s === 'pending' ? (
    <Badge kind="warn">{S.pending}</Badge>
  ) : (
    <Badge kind="err">{S.rejected}</Badge>
  );

/** 签名管理: submit (pending review), set default, delete; review results come from the operator. */
export function SignaturesPage() {
  const [list, { refetch }] = createResource(() => get<{ items: Signature[] }>('/api/signatures').then((r) => r.items));
  const act = (fn: () => Promise<unknown>) => runAction(fn, refetch);
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
      <Grid
        testId="signatures-table"
        rows={list()}
        head={[S.text, t.common.status, S.reason, t.common.createdAt, t.common.actions]}
        row={(s) => (
          <tr data-signature={s.text} data-status={s.status}>
            <td>
              {t.fmt.signature(s.text)}
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
              <button type="button" class="link danger" onClick={() => confirmDelete(() => del(`/api/signatures/${s.id}`), refetch)}>
                {t.common.delete}
              </button>
            </td>
          </tr>
        )}
      />
    </Page>
  );
}
