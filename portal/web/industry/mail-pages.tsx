import { createResource, createSignal, For, Show } from 'solid-js';
import { del, get, post, put, qs } from '../lib/api.ts';
import { navigate } from '../lib/router.tsx';
import { askConfirm } from '../ui/dialog.tsx';
import { Empty, Field, fmtTime, Modal, notify, notifyError, Page, Pager, Tabs } from '../ui/ui.tsx';
import { SendDetail, type SendSummary } from './sent-page.tsx';
import { ti } from './zh-CN.ts';

/** An ISO time as a `datetime-local` value in China time (the time the send goes out, as the list shows it). */
export const toChinaLocal = (iso: string | null | undefined): string =>
  iso ? new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 16) : '';
/** A `datetime-local` value read as China time, whatever the browser's zone. */
export const fromChinaLocal = (v: string): string => new Date(`${v}:00+08:00`).toISOString();

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

function useSelection() {
  const [sel, setSel] = createSignal<string[]>([]);
  const toggle = (id: string) => setSel(sel().includes(id) ? sel().filter((x) => x !== id) : [...sel(), id]);
  return { sel, setSel, toggle };
}

/** 草稿箱: open a draft on the send page, or delete selected drafts. */
export function DraftsPage() {
  const [page, setPage] = createSignal(1);
  const [data, { refetch }] = createResource(page, (p) =>
    get<{ items: { id: string; subject: string; content: string; updatedAt: string }[]; total: number }>(
      `/api/industry/drafts${qs({ page: p })}`,
    ),
  );
  const { sel, setSel, toggle } = useSelection();
  const remove = async () => {
    if (!sel().length || !(await askConfirm(ti.drafts.confirmDelete, { danger: true }))) return;
    try {
      await post('/api/industry/drafts/delete', { ids: sel() });
      setSel([]);
      notify('ok', ti.common.deleted);
      void refetch();
    } catch (e) {
      notifyError(e);
    }
  };
  return (
    <Page
      title={ti.nav.drafts}
      actions={
        <button type="button" class="danger" onClick={() => void remove()}>
          {ti.common.delete}
        </button>
      }
    >
      <table class="grid">
        <thead>
          <tr>
            <th />
            <th>{ti.drafts.subject}</th>
            <th>{ti.drafts.content}</th>
            <th>{ti.drafts.updated}</th>
            <th>{ti.common.actions}</th>
          </tr>
        </thead>
        <tbody>
          <For each={data()?.items}>
            {(d) => (
              <tr>
                <td>
                  <input type="checkbox" checked={sel().includes(d.id)} onChange={() => toggle(d.id)} />
                </td>
                <td>{d.subject || '—'}</td>
                <td>{d.content.slice(0, 60)}</td>
                <td>{fmtTime(d.updatedAt)}</td>
                <td>
                  <button type="button" class="link" onClick={() => navigate(`/industry/send?draft=${d.id}`)}>
                    {ti.drafts.open}
                  </button>
                </td>
              </tr>
            )}
          </For>
          <Empty when={data()?.items.length === 0} cols={5} />
        </tbody>
      </table>
      <Pager page={page()} pageSize={20} total={data()?.total ?? 0} onPage={setPage} />
    </Page>
  );
}

/** 定时发件箱: view, edit the time, delete (the reserved count is given back). */
export function SchedulesPage() {
  const [page, setPage] = createSignal(1);
  const [data, { refetch }] = createResource(page, (p) =>
    get<{ items: SendSummary[]; total: number }>(`/api/industry/schedules${qs({ page: p })}`),
  );
  const { sel, setSel, toggle } = useSelection();
  const [view, setView] = createSignal<string | null>(null);
  const [edit, setEdit] = createSignal<{ id: string; at: string } | null>(null);
  const remove = async () => {
    if (!sel().length || !(await askConfirm(ti.schedules.confirmDelete, { danger: true }))) return;
    try {
      await post('/api/industry/schedules/delete', { ids: sel() });
      setSel([]);
      void refetch();
    } catch (e) {
      notifyError(e);
    }
  };
  const save = async () => {
    const e = edit();
    if (!e) return;
    try {
      await put(`/api/industry/schedules/${e.id}`, { scheduledAt: fromChinaLocal(e.at) });
      setEdit(null);
      notify('ok', ti.common.saved);
      void refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  return (
    <Page
      title={ti.nav.schedules}
      actions={
        <button type="button" class="danger" onClick={() => void remove()}>
          {ti.common.delete}
        </button>
      }
    >
      <table class="grid" data-testid="schedules">
        <thead>
          <tr>
            <th />
            <th>{ti.common.subject}</th>
            <th>{ti.schedules.at}</th>
            <th>{ti.common.recipients}</th>
            <th>{ti.common.billing}</th>
            <th>{ti.common.actions}</th>
          </tr>
        </thead>
        <tbody>
          <For each={data()?.items}>
            {(s) => (
              <tr data-subject={s.subject}>
                <td>
                  <input type="checkbox" checked={sel().includes(s.id)} onChange={() => toggle(s.id)} />
                </td>
                <td>{s.subject}</td>
                <td>{fmtTime(s.scheduledAt)}</td>
                <td>{s.recipients}</td>
                <td>{s.billing}</td>
                <td>
                  <button type="button" class="link" onClick={() => setView(s.id)}>
                    {ti.common.view}
                  </button>
                  <button
                    type="button"
                    class="link"
                    data-action="edit-time"
                    onClick={() => setEdit({ id: s.id, at: toChinaLocal(s.scheduledAt) })}
                  >
                    {ti.common.edit}
                  </button>
                </td>
              </tr>
            )}
          </For>
          <Empty when={data()?.items.length === 0} cols={6} />
        </tbody>
      </table>
      <Pager page={page()} pageSize={20} total={data()?.total ?? 0} onPage={setPage} />
      <Show when={view()}>{(id) => <SendDetail id={id()} onClose={() => setView(null)} />}</Show>
      <Show when={edit()}>
        <Modal title={ti.schedules.editTime} onClose={() => setEdit(null)}>
          <Field label={ti.schedules.at} required>
            <input type="datetime-local" value={edit()!.at} onInput={(e) => setEdit({ ...edit()!, at: e.currentTarget.value })} />
          </Field>
          <div class="form-actions">
            <button type="button" class="primary" onClick={() => void save()}>
              {ti.common.save}
            </button>
          </div>
        </Modal>
      </Show>
    </Page>
  );
}

/** 短信模板: add, edit, delete (inserted from the send page). */
export function TemplatesPage() {
  const [data, { refetch }] = createResource(() =>
    get<{ items: { id: string; title: string; content: string; updatedAt: string }[] }>('/api/industry/templates'),
  );
  const [edit, setEdit] = createSignal<{ id?: string; title: string; content: string } | null>(null);
  const save = async () => {
    const e = edit()!;
    try {
      if (e.id) await put(`/api/industry/templates/${e.id}`, { title: e.title, content: e.content });
      else await post('/api/industry/templates', { title: e.title, content: e.content });
      setEdit(null);
      void refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  return (
    <Page
      title={ti.nav.templates}
      actions={
        <button type="button" class="primary" onClick={() => setEdit({ title: '', content: '' })}>
          {ti.templates.add}
        </button>
      }
    >
      <table class="grid">
        <thead>
          <tr>
            <th>{ti.templates.title}</th>
            <th>{ti.templates.content}</th>
            <th>{ti.common.updated}</th>
            <th>{ti.common.actions}</th>
          </tr>
        </thead>
        <tbody>
          <For each={data()?.items}>
            {(x) => (
              <tr>
                <td>{x.title}</td>
                <td>{x.content}</td>
                <td>{fmtTime(x.updatedAt)}</td>
                <td>
                  <button type="button" class="link" onClick={() => setEdit({ ...x })}>
                    {ti.common.edit}
                  </button>
                  <button
                    type="button"
                    class="link danger"
                    onClick={async () => {
                      if (await askConfirm(ti.templates.confirmDelete, { danger: true }))
                        void del(`/api/industry/templates/${x.id}`).then(() => refetch(), notifyError);
                    }}
                  >
                    {ti.templates.delete}
                  </button>
                </td>
              </tr>
            )}
          </For>
          <Empty when={data()?.items.length === 0} cols={4} />
        </tbody>
      </table>
      <Show when={edit()}>
        <Modal title={edit()!.id ? ti.templates.edit : ti.templates.add} onClose={() => setEdit(null)}>
          <Field label={ti.templates.title} required>
            <input value={edit()!.title} onInput={(e) => setEdit({ ...edit()!, title: e.currentTarget.value })} />
          </Field>
          <Field label={ti.templates.content} required>
            <textarea rows={5} value={edit()!.content} onInput={(e) => setEdit({ ...edit()!, content: e.currentTarget.value })} />
          </Field>
          <div class="form-actions">
            <button type="button" class="primary" onClick={() => void save()}>
              {ti.common.save}
            </button>
          </div>
        </Modal>
      </Show>
    </Page>
  );
}

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
