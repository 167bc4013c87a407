import { createResource, createSignal, Show } from 'solid-js';
import { del, get, post, put } from '../lib/api.ts';
import { askConfirm } from '../ui/dialog.tsx';
import { Field, fmtTime, Grid, Modal, notifyError, Page } from '../ui/ui.tsx';
import { ti } from './zh-CN.ts';

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
      <Grid
        rows={data()?.items}
        head={[ti.templates.title, ti.templates.content, ti.common.updated, ti.common.actions]}
        row={(x) => (
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
      />
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
