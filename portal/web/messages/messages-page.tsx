import { createResource, createSignal } from 'solid-js';
import { get, post, qs } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Badge, Grid, notifyError, Page, Pager, fmtTime } from '../ui/ui.tsx';

interface Message {
  id: string;
  title: string;
  body: string;
  read: boolean;
  createdAt: string;
}

/** 消息: review results and task events addressed to me. */
export function MessagesPage() {
  const [page, setPage] = createSignal(1);
  const [data, { refetch }] = createResource(page, (p) =>
    get<{ items: Message[]; total: number; unread: number }>(`/api/messages${qs({ page: p, pageSize: 20 })}`),
  );
  const read = (id: string) => void post(`/api/messages/${id}/read`).then(() => refetch(), notifyError);
  return (
    <Page
      title={t.messages.titleUnread(data()?.unread ?? 0)}
      actions={
        <button type="button" onClick={() => void post('/api/messages/read-all').then(() => refetch(), notifyError)}>
          {t.messages.readAll}
        </button>
      }
    >
      <Grid
        testId="messages"
        rows={data()?.items}
        head={[t.common.status, t.messages.title, t.common.createdAt, t.common.actions]}
        row={(m) => (
          <tr>
            <td>{m.read ? <Badge kind="muted">{t.messages.read}</Badge> : <Badge kind="warn">{t.messages.unread}</Badge>}</td>
            <td>
              <strong>{m.title}</strong>
              <div class="muted">{m.body}</div>
            </td>
            <td>{fmtTime(m.createdAt)}</td>
            <td>
              {!m.read && (
                <button type="button" class="link" onClick={() => read(m.id)}>
                  {t.messages.markRead}
                </button>
              )}
            </td>
          </tr>
        )}
      />
      <Pager page={page()} pageSize={20} total={data()?.total ?? 0} onPage={setPage} />
    </Page>
  );
}
