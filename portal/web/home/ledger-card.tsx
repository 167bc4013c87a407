import { createResource, createSignal, For } from 'solid-js';
import { get, qs } from '../lib/api.ts';
import { Empty, fmtTime, Pager } from '../ui/ui.tsx';
import { th } from './zh-CN.ts';

interface Entry {
  id: number;
  balanceOf: 'enterprise' | 'account';
  accountName: string | null;
  kind: string;
  kindLabel: string;
  amount: number;
  balanceAfter: number | null;
  refKind: string;
  refId: string;
  at: string;
}

/** 额度账本: the ledger entries behind the balances above (the admin sees the enterprise's, a sub-account its own). */
export function LedgerCard() {
  const [page, setPage] = createSignal(1);
  const [data] = createResource(page, (p) => get<{ total: number; items: Entry[] }>(`/api/home/ledger${qs({ page: p, pageSize: 10 })}`));
  return (
    <div class="card" data-testid="ledger">
      <h2>{th.ledger}</h2>
      <p class="muted small">{th.ledgerNote}</p>
      <table class="grid">
        <thead>
          <tr>
            <th>{th.at}</th>
            <th>{th.kind}</th>
            <th>{th.balanceOf}</th>
            <th>{th.amount}</th>
            <th>{th.after}</th>
            <th>{th.ref}</th>
          </tr>
        </thead>
        <tbody>
          <For each={data()?.items}>
            {(e) => (
              <tr data-kind={e.kind}>
                <td>{fmtTime(e.at)}</td>
                <td>{e.kindLabel}</td>
                <td>
                  {e.balanceOf === 'enterprise' ? (e.accountName ? th.enterpriseVia(e.accountName) : th.enterprise) : (e.accountName ?? '')}
                </td>
                <td>{e.amount > 0 ? `+${e.amount.toLocaleString('zh-CN')}` : e.amount.toLocaleString('zh-CN')}</td>
                <td>{e.balanceAfter === null ? th.noLimit : e.balanceAfter.toLocaleString('zh-CN')}</td>
                <td class="small">{e.refKind ? `${th.refKinds[e.refKind] ?? e.refKind} ${e.refId}` : ''}</td>
              </tr>
            )}
          </For>
          <Empty when={data()?.items.length === 0} cols={6} />
        </tbody>
      </table>
      <Pager page={page()} pageSize={10} total={data()?.total ?? 0} onPage={setPage} />
    </div>
  );
}
