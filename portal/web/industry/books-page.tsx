import { createResource, createSignal, For, Show } from 'solid-js';
import { del, get, post, put, qs } from '../lib/api.ts';
import { can, me } from '../lib/session.ts';
import { askConfirm, askText, showMessage } from '../ui/dialog.tsx';
import { Empty, Field, Modal, notify, notifyError, Page, Pager } from '../ui/ui.tsx';
import { GroupChecks, ordered, type Group } from './book-groups.tsx';
import { ImportDialog } from './book-import.tsx';
import { ti } from './zh-CN.ts';

type Book = 'personal' | 'enterprise';
interface Contact {
  id: string;
  name: string;
  phone: string;
  gender: '' | 'male' | 'female';
  birthday: string;
  email: string;
  company: string;
  title: string;
  address: string;
  remark: string;
  sort: number;
  groupIds: string[];
  groupNames: string[];
}

const EMPTY: Omit<Contact, 'id' | 'groupNames'> = {
  name: '',
  phone: '',
  gender: '',
  birthday: '',
  email: '',
  company: '',
  title: '',
  address: '',
  remark: '',
  sort: 0,
  groupIds: [],
};

/** 个人通讯录 / 企业通讯录: the group (or department) tree on the left, contacts on the right. */
export function BookPage(props: { book: Book }) {
  const base = `/api/industry/books/${props.book}`;
  const canEdit = () => props.book === 'personal' || me()?.role === 'admin' || can('departments');
  const [groups, { refetch: refetchGroups }] = createResource(() =>
    get<{ items: Group[]; unassigned: number; total: number }>(`${base}/groups`),
  );
  const [groupId, setGroupId] = createSignal('');
  const [keyword, setKeyword] = createSignal('');
  const [page, setPage] = createSignal(1);
  const [q, setQ] = createSignal({ groupId: '', keyword: '', page: 1 });
  const [list, { refetch }] = createResource(q, (x) => get<{ items: Contact[]; total: number }>(`${base}/contacts${qs(x)}`));
  const [sel, setSel] = createSignal<string[]>([]);
  const [edit, setEdit] = createSignal<(typeof EMPTY & { id?: string }) | null>(null);
  const [target, setTarget] = createSignal<{ op: 'copy' | 'move'; groupIds: string[] } | null>(null);
  const [importing, setImporting] = createSignal(false);
  const tree = () => ordered(groups()?.items ?? []);
  const reload = () => {
    setSel([]);
    void refetch();
    void refetchGroups();
  };
  const pick = (id: string) => {
    setGroupId(id);
    setPage(1);
    setQ({ groupId: id, keyword: keyword(), page: 1 });
  };
  const run = async (fn: () => Promise<unknown>, ok = ti.common.saved) => {
    try {
      await fn();
      notify('ok', ok);
      reload();
      return true;
    } catch (e) {
      notifyError(e);
      return false;
    }
  };
  const needSel = () => (sel().length ? true : (notify('err', ti.books.selectFirst), false));

  const addGroup = async (parentId: string | null) => {
    const name = await askText({ title: parentId ? ti.books.addSub : ti.books.addGroup, label: ti.books.groupName });
    if (name) void run(() => post(`${base}/groups`, { name, parentId }));
  };
  const renameGroup = async (g: Group) => {
    const name = await askText({ title: ti.books.rename, label: ti.books.groupName, value: g.name });
    if (name) void run(() => put(`${base}/groups/${g.id}`, { name }));
  };
  const deleteGroup = async (g: Group) => {
    if (await askConfirm(ti.books.confirmDeleteGroup(g.name), { danger: true }))
      void run(() => del(`${base}/groups/${g.id}`), ti.books.deleted).then((ok) => ok && groupId() === g.id && pick(''));
  };
  const showContact = (c: Contact) =>
    showMessage(
      ti.books.detail,
      [
        [ti.books.name, c.name],
        [ti.books.phone, c.phone],
        [ti.books.email, c.email],
        [ti.books.company, c.company],
        [ti.books.title, c.title],
        [ti.books.address, c.address],
        [ti.books.remark, c.remark],
      ]
        .filter(([, v]) => v)
        .map(([k, v]) => ti.common.labelled(k, v))
        .join('\n'),
    );
  const save = async () => {
    const e = edit()!;
    const { id, ...body } = e;
    if (await run(() => (id ? put(`${base}/contacts/${id}`, body) : post(`${base}/contacts`, body)))) setEdit(null);
  };
  const exportHref = () =>
    `${base}/export${qs({ groupId: groupId() || undefined, keyword: keyword() || undefined, ids: sel().length ? sel().join(',') : undefined })}`;

  return (
    <Page title={props.book === 'personal' ? ti.nav.personal : ti.nav.enterprise}>
      <div class="books">
        <div class="tree" data-testid="group-tree">
          <div class="node" classList={{ active: groupId() === '' }} onClick={() => pick('')}>
            <span>{ti.books.all}</span>
            <span class="muted">{groups()?.total ?? 0}</span>
          </div>
          <For each={tree()}>
            {(g) => (
              <div
                class="node"
                classList={{ active: groupId() === g.id }}
                style={{ 'padding-left': `${6 + g.depth * 14}px` }}
                onClick={() => pick(g.id)}
              >
                <span>{g.name}</span>
                <span class="muted">
                  {g.count}
                  <Show when={props.book === 'personal' && groupId() === g.id}>
                    {' '}
                    <button type="button" class="link" title={ti.books.addSub} onClick={(e) => (e.stopPropagation(), addGroup(g.id))}>
                      {ti.books.addSubMark}
                    </button>
                    <button type="button" class="link" title={ti.books.rename} onClick={(e) => (e.stopPropagation(), renameGroup(g))}>
                      ✎
                    </button>
                    <button
                      type="button"
                      class="link danger"
                      title={ti.books.deleteGroup}
                      onClick={(e) => (e.stopPropagation(), deleteGroup(g))}
                    >
                      ×
                    </button>
                  </Show>
                </span>
              </div>
            )}
          </For>
          <div class="node" classList={{ active: groupId() === 'unassigned' }} onClick={() => pick('unassigned')}>
            <span>{ti.books.unassigned}</span>
            <span class="muted">{groups()?.unassigned ?? 0}</span>
          </div>
          <Show when={props.book === 'personal'} fallback={<p class="muted small">{ti.books.readOnlyDepts}</p>}>
            <button type="button" onClick={() => addGroup(null)}>
              {ti.books.addGroup}
            </button>
          </Show>
        </div>
        <div class="list">
          <div class="toolbar">
            <input placeholder={ti.books.keyword} value={keyword()} onInput={(e) => setKeyword(e.currentTarget.value)} />
            <button type="button" onClick={() => pick(groupId())}>
              {ti.common.search}
            </button>
            <Show when={canEdit()}>
              <button
                type="button"
                class="primary"
                onClick={() => setEdit({ ...EMPTY, groupIds: groupId() && groupId() !== 'unassigned' ? [groupId()] : [] })}
              >
                {ti.books.add}
              </button>
              <button type="button" onClick={() => setImporting(true)}>
                {ti.books.import}
              </button>
            </Show>
            <a href={exportHref()}>
              <button type="button">{ti.books.export}</button>
            </a>
            <Show when={canEdit()}>
              <button type="button" onClick={() => needSel() && setTarget({ op: 'copy', groupIds: [] })}>
                {ti.books.copy}
              </button>
              <button type="button" onClick={() => needSel() && setTarget({ op: 'move', groupIds: [] })}>
                {ti.books.move}
              </button>
              <button
                type="button"
                class="danger"
                onClick={async () => {
                  if (needSel() && (await askConfirm(ti.books.confirmDeleteSelected(sel().length), { danger: true })))
                    void run(() => post(`${base}/contacts/delete`, { ids: sel() }), ti.books.deleted);
                }}
              >
                {ti.books.delete}
              </button>
              <button
                type="button"
                onClick={async () => {
                  if (!needSel()) return;
                  const v = await askText({ title: ti.books.sort, label: ti.books.sortValue, type: 'number', value: '0' });
                  if (v !== null && Number.isFinite(Number(v)))
                    void run(() => post(`${base}/contacts/sort`, { ids: sel(), sort: Number(v) }));
                }}
              >
                {ti.books.sort}
              </button>
            </Show>
          </div>
          <table class="grid" data-testid="contacts">
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    checked={!!list()?.items.length && sel().length === list()!.items.length}
                    onChange={(e) => setSel(e.currentTarget.checked ? (list()?.items.map((c) => c.id) ?? []) : [])}
                  />
                </th>
                <th>{ti.books.name}</th>
                <th>{ti.books.phone}</th>
                <th>{ti.books.company}</th>
                <th>{props.book === 'personal' ? ti.books.groupsOf : ti.books.departments}</th>
                <th>{ti.books.sortColumn}</th>
                <th>{ti.books.actions}</th>
              </tr>
            </thead>
            <tbody>
              <For each={list()?.items}>
                {(c) => (
                  <tr>
                    <td>
                      <input
                        type="checkbox"
                        checked={sel().includes(c.id)}
                        onChange={() => setSel(sel().includes(c.id) ? sel().filter((x) => x !== c.id) : [...sel(), c.id])}
                      />
                    </td>
                    <td>{c.name}</td>
                    <td>{c.phone}</td>
                    <td>{c.company}</td>
                    <td>{ti.common.list(c.groupNames) || ti.books.unassigned}</td>
                    <td>{c.sort}</td>
                    <td>
                      <button type="button" class="link" data-action="contact-detail" onClick={() => void showContact(c)}>
                        {ti.books.detailButton}
                      </button>
                      <Show when={canEdit()}>
                        <button type="button" class="link" onClick={() => setEdit({ ...c })}>
                          {ti.books.editButton}
                        </button>
                        <button
                          type="button"
                          class="link danger"
                          onClick={async () => {
                            if (await askConfirm(ti.books.confirmDeleteContact(c.name), { danger: true }))
                              void run(() => del(`${base}/contacts/${c.id}`), ti.books.deleted);
                          }}
                        >
                          {ti.books.deleteButton}
                        </button>
                      </Show>
                    </td>
                  </tr>
                )}
              </For>
              <Empty when={list()?.items.length === 0} cols={7} />
            </tbody>
          </table>
          <Pager
            page={page()}
            pageSize={20}
            total={list()?.total ?? 0}
            onPage={(p) => {
              setPage(p);
              setQ({ ...q(), page: p });
            }}
          />
        </div>
      </div>
      <Show when={edit()}>
        <Modal title={edit()!.id ? ti.books.editContact : ti.books.add} onClose={() => setEdit(null)} wide>
          <div class="form-grid">
            <For each={['name', 'phone', 'birthday', 'email', 'company', 'title', 'address', 'remark'] as const}>
              {(k) => (
                <Field label={ti.books[k]} required={k === 'name' || k === 'phone'}>
                  <input value={edit()![k]} onInput={(e) => setEdit({ ...edit()!, [k]: e.currentTarget.value })} />
                </Field>
              )}
            </For>
            <Field label={ti.books.gender}>
              <select value={edit()!.gender} onChange={(e) => setEdit({ ...edit()!, gender: e.currentTarget.value as Contact['gender'] })}>
                <option value="">—</option>
                <option value="male">{ti.books.male}</option>
                <option value="female">{ti.books.female}</option>
              </select>
            </Field>
            <Field label={ti.books.sortColumn}>
              <input
                type="number"
                value={edit()!.sort}
                onInput={(e) => setEdit({ ...edit()!, sort: Number(e.currentTarget.value) || 0 })}
              />
            </Field>
          </div>
          <Field label={ti.books.pickGroups}>
            <GroupChecks groups={tree()} value={edit()!.groupIds} onChange={(v) => setEdit({ ...edit()!, groupIds: v })} />
          </Field>
          <div class="form-actions">
            <button type="button" class="primary" onClick={() => void save()}>
              {ti.common.save}
            </button>
          </div>
        </Modal>
      </Show>
      <Show when={target()}>
        <Modal title={target()!.op === 'copy' ? ti.books.copy : ti.books.move} onClose={() => setTarget(null)}>
          <GroupChecks groups={tree()} value={target()!.groupIds} onChange={(v) => setTarget({ ...target()!, groupIds: v })} />
          <div class="form-actions">
            <button
              type="button"
              class="primary"
              onClick={() =>
                void run(() => post(`${base}/contacts/${target()!.op}`, { ids: sel(), groupIds: target()!.groupIds })).then(
                  (ok) => ok && setTarget(null),
                )
              }
            >
              {ti.books.confirm}
            </button>
          </div>
        </Modal>
      </Show>
      <Show when={importing()}>
        <ImportDialog base={base} groups={tree()} onClose={() => setImporting(false)} onDone={reload} />
      </Show>
    </Page>
  );
}
