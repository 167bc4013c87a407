import { createResource, createSignal, Show } from 'solid-js';
import { get, qs } from '../lib/api.ts';
import { createListQuery, ListFilters, ListTable } from '../ui/list-page.tsx';
import { fmtTime, Grid, Page, Tabs } from '../ui/ui.tsx';
import { ti } from './zh-CN.ts';

interface Reply {
  id: string;
  from: string;
  text: string;
  receivedAt: string;
  subject: string | null;
  forwardedTo: string | null;
}
interface Subject {
  sendId: string;
  subject: string;
  replies: number;
  lastAt: string;
}

/** 收件箱: all replies, or by subject (the send they answer), searchable by time and keyword. */
export function InboxPage() {
  const sendId = new URLSearchParams(location.search).get('sendId') ?? '';
  const [tab, setTab] = createSignal('all');
  const q = createListQuery<Reply>('/api/industry/inbox', { from: '', to: '', keyword: '', sendId });
  const [subjects] = createResource(q.applied, (x) => get<{ items: Subject[] }>(`/api/industry/inbox/subjects${qs(x)}`));
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
      <ListFilters
        query={q}
        actions={
          <Show when={q.applied().sendId}>
            <button type="button" onClick={() => q.searchWith({ sendId: '' })}>
              {ti.common.allSubjects}
            </button>
          </Show>
        }
      >
        <input type="date" value={q.draft().from} onInput={q.field('from')} />
        <input type="date" value={q.draft().to} onInput={q.field('to')} />
        <input placeholder={ti.inbox.keyword} value={q.draft().keyword} onInput={q.field('keyword')} />
      </ListFilters>
      <Show when={tab() === 'all'}>
        <ListTable
          query={q}
          testId="inbox"
          head={[ti.inbox.from, ti.inbox.text, ti.inbox.subject, ti.inbox.at, ti.inbox.forwarded]}
          row={(r: Reply) => (
            <tr data-from={r.from} data-forwarded={r.forwardedTo ?? ''}>
              <td>{r.from}</td>
              <td>{r.text}</td>
              <td>{r.subject ?? '—'}</td>
              <td>{fmtTime(r.receivedAt)}</td>
              <td>{r.forwardedTo ?? ''}</td>
            </tr>
          )}
        />
      </Show>
      <Show when={tab() === 'subject'}>
        <Grid
          rows={subjects()?.items}
          head={[ti.inbox.subject, ti.common.replies, ti.common.lastReply]}
          row={(s) => (
            <tr>
              <td>
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    setTab('all');
                    q.searchWith({ sendId: s.sendId });
                  }}
                >
                  {s.subject}
                </button>
              </td>
              <td>{s.replies}</td>
              <td>{fmtTime(s.lastAt)}</td>
            </tr>
          )}
        />
      </Show>
    </Page>
  );
}
