import { createResource, createSignal, For, Show } from 'solid-js';
import { get, qs } from '../lib/api.ts';
import { Empty, fmtTime, Page, Pager, Tabs } from '../ui/ui.tsx';
import { ti } from './zh-CN.ts';

/** 收件箱: all replies, or by subject (the send they answer), searchable by time and keyword. */
export function InboxPage() {
  const sendId = new URLSearchParams(location.search).get('sendId') ?? '';
  const [tab, setTab] = createSignal('all');
  const [f, setF] = createSignal({ from: '', to: '', keyword: '', sendId, page: 1 });
  const [q, setQ] = createSignal(f());
  const [all] = createResource(q, (x) =>
    get<{
      items: { id: string; from: string; text: string; receivedAt: string; subject: string | null; forwardedTo: string | null }[];
      total: number;
    }>(`/api/industry/inbox${qs(x)}`),
  );
  const [subjects] = createResource(q, (x) =>
    get<{ items: { sendId: string; subject: string; replies: number; lastAt: string }[] }>(`/api/industry/inbox/subjects${qs(x)}`),
  );
  return (
    <Page title={ti.nav.inbox}>
      <Tabs
        tabs={[
          { key: 'all', label: ti.inbox.all },
          { key: 'subject', label: ti.inbox.bySubject },
        ]}
        active={tab()}
        onChange={setTab}
      />
      <div class="toolbar">
        <input type="date" value={f().from} onInput={(e) => setF({ ...f(), from: e.currentTarget.value })} />
        <input type="date" value={f().to} onInput={(e) => setF({ ...f(), to: e.currentTarget.value })} />
        <input placeholder={ti.inbox.keyword} value={f().keyword} onInput={(e) => setF({ ...f(), keyword: e.currentTarget.value })} />
        <button type="button" class="primary" onClick={() => setQ({ ...f(), page: 1 })}>
          {ti.common.search}
        </button>
        <Show when={q().sendId}>
          <button type="button" onClick={() => setQ({ ...f(), sendId: '', page: 1 })}>
            {ti.common.allSubjects}
          </button>
        </Show>
      </div>
      <Show when={tab() === 'all'}>
        <table class="grid" data-testid="inbox">
          <thead>
            <tr>
              <th>{ti.inbox.from}</th>
              <th>{ti.inbox.text}</th>
              <th>{ti.inbox.subject}</th>
              <th>{ti.inbox.at}</th>
              <th>{ti.inbox.forwarded}</th>
            </tr>
          </thead>
          <tbody>
            <For each={all()?.items}>
              {(r) => (
                <tr data-from={r.from} data-forwarded={r.forwardedTo ?? ''}>
                  <td>{r.from}</td>
                  <td>{r.text}</td>
                  <td>{r.subject ?? '—'}</td>
                  <td>{fmtTime(r.receivedAt)}</td>
                  <td>{r.forwardedTo ?? ''}</td>
                </tr>
              )}
            </For>
            <Empty when={all()?.items.length === 0} cols={5} />
          </tbody>
        </table>
        <Pager page={q().page} pageSize={20} total={all()?.total ?? 0} onPage={(p) => setQ({ ...q(), page: p })} />
      </Show>
      <Show when={tab() === 'subject'}>
        <table class="grid">
          <thead>
            <tr>
              <th>{ti.inbox.subject}</th>
              <th>{ti.common.replies}</th>
              <th>{ti.common.lastReply}</th>
            </tr>
          </thead>
          <tbody>
            <For each={subjects()?.items}>
              {(s) => (
                <tr>
                  <td>
                    <button
                      type="button"
                      class="link"
                      onClick={() => {
                        setTab('all');
                        setQ({ ...f(), sendId: s.sendId, page: 1 });
                      }}
                    >
                      {s.subject}
                    </button>
                  </td>
                  <td>{s.replies}</td>
                  <td>{fmtTime(s.lastAt)}</td>
                </tr>
              )}
            </For>
            <Empty when={subjects()?.items.length === 0} cols={3} />
          </tbody>
        </table>
      </Show>
    </Page>
  );
}
