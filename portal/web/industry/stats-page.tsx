import { createResource, createSignal, For, Show } from 'solid-js';
import { get, qs } from '../lib/api.ts';
import { Empty, fmtTime, Page, Pager, Tabs } from '../ui/ui.tsx';
import { useSelection } from './mail-pages.tsx';
import { ti } from './zh-CN.ts';

/** 发送统计: by time and keyword, for mine / direct subordinates / all subordinates; export to Excel. */
export function StatsPage() {
  const [f, setF] = createSignal({ from: '', to: '', keyword: '', scope: 'mine', page: 1 });
  const [q, setQ] = createSignal(f());
  const [data] = createResource(q, (x) =>
    get<{
      items: {
        id: string;
        accountName: string;
        subject: string;
        createdAt: string;
        sentAt: string | null;
        recipients: number;
        billing: number;
        delivered: number | null;
        failed: number | null;
      }[];
      total: number;
      totals: { sends: number; recipients: number; billing: number; delivered: number | null; failed: number | null };
    }>(`/api/industry/stats${qs(x)}`),
  );
  const { sel, toggle } = useSelection();
  const exportUrl = (ids?: string[]) => `/api/industry/stats/export${qs({ ...q(), page: undefined, ids: ids?.join(',') })}`;
  return (
    <Page
      title={ti.nav.stats}
      actions={
        <>
          <a href={exportUrl()}>
            <button type="button">{ti.stats.export}</button>
          </a>
          <Show when={sel().length}>
            <a href={exportUrl(sel())}>
              <button type="button">{ti.stats.exportSel}</button>
            </a>
          </Show>
        </>
      }
    >
      <div class="toolbar">
        <Tabs
          tabs={[
            { key: 'mine', label: ti.stats.mine },
            { key: 'direct', label: ti.stats.direct },
            { key: 'all', label: ti.stats.all },
          ]}
          active={f().scope}
          onChange={(k) => {
            setF({ ...f(), scope: k });
            setQ({ ...f(), page: 1 });
          }}
        />
        <input type="date" value={f().from} onInput={(e) => setF({ ...f(), from: e.currentTarget.value })} />
        <input type="date" value={f().to} onInput={(e) => setF({ ...f(), to: e.currentTarget.value })} />
        <input placeholder={ti.stats.keyword} value={f().keyword} onInput={(e) => setF({ ...f(), keyword: e.currentTarget.value })} />
        <button type="button" class="primary" onClick={() => setQ({ ...f(), page: 1 })}>
          {ti.common.search}
        </button>
      </div>
      <table class="grid">
        <thead>
          <tr>
            <th />
            <th>{ti.stats.account}</th>
            <th>{ti.common.subject}</th>
            <th>{ti.sent.created}</th>
            <th>{ti.sent.time}</th>
            <th>{ti.common.recipients}</th>
            <th>{ti.common.billing}</th>
            <th>{ti.common.success}</th>
            <th>{ti.common.failed}</th>
          </tr>
        </thead>
        <tbody>
          <For each={data()?.items}>
            {(r) => (
              <tr>
                <td>
                  <input type="checkbox" checked={sel().includes(r.id)} onChange={() => toggle(r.id)} />
                </td>
                <td>{r.accountName}</td>
                <td>{r.subject}</td>
                <td>{fmtTime(r.createdAt)}</td>
                <td>{fmtTime(r.sentAt)}</td>
                <td>{r.recipients}</td>
                <td>{r.billing}</td>
                <td>{r.delivered ?? '—'}</td>
                <td>{r.failed ?? '—'}</td>
              </tr>
            )}
          </For>
          <Empty when={data()?.items.length === 0} cols={9} />
          <Show when={data()}>
            <tr class="total">
              <td colspan={5}>{ti.common.sends(ti.sent.total, data()!.totals.sends)}</td>
              <td>{data()!.totals.recipients}</td>
              <td>{data()!.totals.billing}</td>
              <td>{data()!.totals.delivered ?? '—'}</td>
              <td>{data()!.totals.failed ?? '—'}</td>
            </tr>
          </Show>
        </tbody>
      </table>
      <Pager page={q().page} pageSize={20} total={data()?.total ?? 0} onPage={(p) => setQ({ ...q(), page: p })} />
    </Page>
  );
}
