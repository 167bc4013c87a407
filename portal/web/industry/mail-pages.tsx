import { createSignal, Show } from 'solid-js';
import { post, put } from '../lib/api.ts';
import { navigate } from '../lib/router.tsx';
import { askConfirm } from '../ui/dialog.tsx';
import { createListQuery, ListTable } from '../ui/list-page.tsx';
import { Field, fmtTime, Modal, notify, notifyError, Page } from '../ui/ui.tsx';
import { SendDetail, type SendSummary } from './sent-page.tsx';
import { ti } from './zh-CN.ts';

/** An ISO time as a `datetime-local` value in China time (the time the send goes out, as the list shows it). */
export const toChinaLocal = (iso: string | null | undefined): string =>
  iso ? new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 16) : '';
/** A `datetime-local` value read as China time, whatever the browser's zone. */
export const fromChinaLocal = (v: string): string => new Date(`${v}:00+08:00`).toISOString();

/** Ticked rows of a list (drafts, schedules, stats). */
export function useSelection() {
  const [sel, setSel] = createSignal<string[]>([]);
  const toggle = (id: string) => setSel(sel().includes(id) ? sel().filter((x) => x !== id) : [...sel(), id]);
  return { sel, setSel, toggle };
}

interface Draft {
  id: string;
  subject: string;
  content: string;
  updatedAt: string;
}

/** 草稿箱: open a draft on the send page, or delete selected drafts. */
export function DraftsPage() {
  const q = createListQuery<Draft>('/api/industry/drafts', {});
  const { sel, setSel, toggle } = useSelection();
  const remove = async () => {
    if (!sel().length || !(await askConfirm(ti.drafts.confirmDelete, { danger: true }))) return;
    try {
      await post('/api/industry/drafts/delete', { ids: sel() });
      setSel([]);
      notify('ok', ti.common.deleted);
      q.refetch();
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
      <ListTable
        query={q}
        head={['', ti.drafts.subject, ti.drafts.content, ti.drafts.updated, ti.common.actions]}
        row={(d: Draft) => (
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
      />
    </Page>
  );
}

/** 定时发件箱: view, edit the time, delete (the reserved count is given back). */
export function SchedulesPage() {
  const q = createListQuery<SendSummary>('/api/industry/schedules', {});
  const { sel, setSel, toggle } = useSelection();
  const [view, setView] = createSignal<string | null>(null);
  const [edit, setEdit] = createSignal<{ id: string; at: string } | null>(null);
  const remove = async () => {
    if (!sel().length || !(await askConfirm(ti.schedules.confirmDelete, { danger: true }))) return;
    try {
      await post('/api/industry/schedules/delete', { ids: sel() });
      setSel([]);
      q.refetch();
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
      q.refetch();
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
      <ListTable
        query={q}
        testId="schedules"
        head={['', ti.common.subject, ti.schedules.at, ti.common.recipients, ti.common.billing, ti.common.actions]}
        row={(s: SendSummary) => (
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
      />
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
