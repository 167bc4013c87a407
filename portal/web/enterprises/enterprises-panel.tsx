import { createResource } from 'solid-js';
import { get, post, put } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { askConfirm, askText } from '../ui/dialog.tsx';
import { Badge, Grid, runAction, fmtTime } from '../ui/ui.tsx';

interface Enterprise {
  id: string;
  name: string;
  quota: number;
  accessNumber: string;
  status: 'active' | 'frozen';
  adminName: string | null;
  accountCount: number;
  createdAt: string;
}

const E = t.enterprises;

/** 集团管理 (operator): open an enterprise with its admin, change its quota, freeze or unfreeze it. */
export function EnterprisesPanel() {
  const [list, { refetch }] = createResource(() => get<{ items: Enterprise[] }>('/api/operator/enterprises').then((r) => r.items));
  const act = (fn: () => Promise<unknown>) => runAction(fn, refetch);
  const create = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    void act(() =>
      post('/api/operator/enterprises', {
        name: f.get('name'),
        quota: Number(f.get('quota') || 0),
        accessNumber: f.get('accessNumber'),
        adminName: f.get('adminName'),
        adminPassword: f.get('adminPassword'),
      }).then(() => form.reset()),
    );
  };
  const editQuota = async (x: Enterprise) => {
    const v = await askText({ title: x.name, label: E.quota, type: 'number', value: String(x.quota) });
    if (v !== null && Number.isFinite(Number(v))) void act(() => put(`/api/operator/enterprises/${x.id}`, { quota: Number(v) }));
  };
  return (
    <>
      <form class="toolbar" onSubmit={create}>
        <input name="name" placeholder={E.name} required maxlength={64} />
        <input name="quota" type="number" min="0" placeholder={E.quota} />
        <input name="accessNumber" placeholder={E.accessNumber} maxlength={20} />
        <input name="adminName" placeholder={E.adminName} required maxlength={64} />
        <input name="adminPassword" type="password" placeholder={E.adminPassword} required minlength={12} autocomplete="new-password" />
        <button type="submit" class="primary">
          {E.create}
        </button>
      </form>
      <Grid
        rows={list()}
        head={[E.name, E.adminName, E.quota, E.accessNumber, E.accounts, t.common.status, t.common.createdAt, t.common.actions]}
        row={(x) => (
          <tr>
            <td>{x.name}</td>
            <td>{x.adminName ?? '—'}</td>
            <td>{x.quota.toLocaleString('zh-CN')}</td>
            <td>{x.accessNumber || '—'}</td>
            <td>{x.accountCount}</td>
            <td>{x.status === 'active' ? <Badge kind="ok">{t.accounts.active}</Badge> : <Badge kind="err">{t.accounts.frozen}</Badge>}</td>
            <td>{fmtTime(x.createdAt)}</td>
            <td>
              <button type="button" class="link" onClick={() => editQuota(x)}>
                {E.quota}
              </button>
              <button
                type="button"
                class="link danger"
                onClick={async () => {
                  if (x.status !== 'active') return void act(() => post(`/api/operator/enterprises/${x.id}/unfreeze`));
                  if (await askConfirm(E.confirmFreeze, { danger: true })) void act(() => post(`/api/operator/enterprises/${x.id}/freeze`));
                }}
              >
                {x.status === 'active' ? t.accounts.freeze : t.accounts.unfreeze}
              </button>
            </td>
          </tr>
        )}
      />
    </>
  );
}
