import { createResource, createSignal, For, Show } from 'solid-js';
import { del, get, post, put, qs } from '../lib/api.ts';
import { buildTree, departmentsResource, flatten, type Department, type DeptNode } from '../lib/departments.ts';
import { can } from '../lib/session.ts';
import { t } from '../i18n/zh-CN.ts';
import { askConfirm } from '../ui/dialog.tsx';
import { Field, notify, notifyError, Page } from '../ui/ui.tsx';

const D = t.departments;

function Tree(props: { nodes: DeptNode[]; selected: string | null; onSelect: (id: string) => void }) {
  return (
    <ul>
      <For each={props.nodes}>
        {(n) => (
          <li>
            <button type="button" classList={{ selected: props.selected === n.id }} onClick={() => props.onSelect(n.id)} data-dept={n.name}>
              {n.children.length ? '▾ ' : '• '}
              {n.name}
              <span class="muted small">{t.fmt.inParens(n.memberCount)}</span>
            </button>
            <Show when={n.children.length}>
              <Tree nodes={n.children} selected={props.selected} onSelect={props.onSelect} />
            </Show>
          </li>
        )}
      </For>
    </ul>
  );
}

/** 部门管理: the tree on the left; the chosen department's form, members and actions on the right. */
export function DepartmentsPage() {
  const [depts, { refetch }] = departmentsResource();
  const [selected, setSelected] = createSignal<string | null>(null);
  // 'edit' shows the selected department; 'child' / 'root' a blank form for a new one.
  const [mode, setMode] = createSignal<'edit' | 'child' | 'root'>('edit');
  const current = () => depts()?.find((d) => d.id === selected()) ?? null;
  const tree = () => buildTree(depts() ?? []);
  const [members] = createResource(
    () => (can('accounts') ? selected() : null),
    (id) =>
      get<{ items: { name: string; displayName: string }[] }>(`/api/accounts${qs({ departmentId: id, pageSize: 200 })}`).then(
        (r) => r.items,
      ),
  );
  let form!: HTMLFormElement;

  const save = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = {
      name: String(f.get('name') ?? ''),
      parentId: String(f.get('parentId') ?? '') || null,
      sort: Number(f.get('sort') || 0),
      remark: String(f.get('remark') ?? ''),
    };
    try {
      const saved =
        mode() === 'edit' && current()
          ? await put<Department>(`/api/departments/${current()!.id}`, body)
          : await post<Department>('/api/departments', body);
      notify('ok', t.common.saved);
      await refetch();
      setSelected(saved.id);
      setMode('edit');
    } catch (err) {
      notifyError(err);
    }
  };
  const remove = async () => {
    const d = current();
    if (!d || !(await askConfirm(t.common.confirmDelete, { danger: true }))) return;
    try {
      await del(`/api/departments/${d.id}`);
      notify('ok', t.common.deleted);
      setSelected(null);
      void refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  const formFor = () => (mode() === 'edit' ? current() : null);
  const parentFor = () => (mode() === 'child' ? selected() : mode() === 'root' ? null : (current()?.parentId ?? null));

  return (
    <Page
      title={D.title}
      actions={
        <button type="button" onClick={() => setMode('root')}>
          {D.addRoot}
        </button>
      }
    >
      <div class="split">
        <div class="card tree" data-testid="dept-tree">
          <Tree nodes={tree()} selected={selected()} onSelect={(id) => (setSelected(id), setMode('edit'))} />
          <p class="muted small">{D.note}</p>
        </div>
        <div class="card">
          <Show when={mode() !== 'edit' || current()} fallback={<p class="muted">{D.pick}</p>}>
            <h2>
              {mode() === 'edit' ? current()?.name : mode() === 'child' ? t.fmt.withParens(D.addChild, current()?.name ?? '') : D.addRoot}
            </h2>
            {/* Keyed on the mode and selection so that the form's defaults refresh. */}
            <For each={[`${mode()}:${selected()}`]}>
              {() => (
                <form ref={form} onSubmit={save} data-testid="dept-form">
                  <div class="form-grid">
                    <Field label={D.name} required>
                      <input name="name" required maxlength={64} value={formFor()?.name ?? ''} />
                    </Field>
                    <Field label={D.parent}>
                      <select name="parentId">
                        <option value="">—</option>
                        <For each={flatten(tree())}>
                          {(d) => (
                            <option value={d.id} selected={d.id === parentFor()}>
                              {t.fmt.indent(d.depth) + d.name}
                            </option>
                          )}
                        </For>
                      </select>
                    </Field>
                    <Field label={D.sort}>
                      <input name="sort" type="number" min="0" value={formFor()?.sort ?? 0} />
                    </Field>
                    <Field label={D.remark}>
                      <input name="remark" maxlength={200} value={formFor()?.remark ?? ''} />
                    </Field>
                  </div>
                  <div class="form-actions">
                    <Show when={mode() === 'edit'}>
                      <button type="button" onClick={() => setMode('child')}>
                        {D.addChild}
                      </button>
                      <button type="button" class="danger" onClick={() => void remove()}>
                        {t.common.delete}
                      </button>
                    </Show>
                    <Show when={mode() !== 'edit'}>
                      <button type="button" onClick={() => setMode('edit')}>
                        {t.common.cancel}
                      </button>
                    </Show>
                    <button type="submit" class="primary">
                      {t.common.save}
                    </button>
                  </div>
                </form>
              )}
            </For>
            <Show when={mode() === 'edit' && can('accounts')}>
              <h2>{D.members}</h2>
              <p>{t.fmt.list((members() ?? []).map((m) => m.displayName || m.name)) || t.app.none}</p>
            </Show>
          </Show>
        </div>
      </div>
    </Page>
  );
}
