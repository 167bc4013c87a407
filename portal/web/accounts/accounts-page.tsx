import { createResource, createSignal, For, Show } from 'solid-js';
import { del, get, post, put, qs } from '../lib/api.ts';
import { departmentsResource, buildTree, flatten } from '../lib/departments.ts';
import { me } from '../lib/session.ts';
import { t } from '../i18n/zh-CN.ts';
import { askConfirm, askText } from '../ui/dialog.tsx';
import { Badge, confirmDelete, Field, Grid, Modal, Page, Pager, runAction, fmtTime } from '../ui/ui.tsx';
import type { AccountRecord as Account } from '../../src/api/accounts/queries.ts';

/** The API's account record (portal/src/api/accounts/queries.ts), as the page receives it. */
export type { Account };

interface Feature {
  key: string;
  label: string;
}
interface Signature {
  id: string;
  text: string;
}

const A = t.accounts;

function PermissionBoxes(props: { features: Feature[]; value: string[]; onChange: (v: string[]) => void }) {
  const mine = () => me()?.permissions ?? [];
  return (
    <div class="perm-grid" data-testid="permissions">
      <For each={props.features}>
        {(f) => (
          <label>
            <input
              type="checkbox"
              value={f.key}
              checked={props.value.includes(f.key)}
              disabled={!mine().includes(f.key)}
              onChange={(e) => props.onChange(e.currentTarget.checked ? [...props.value, f.key] : props.value.filter((x) => x !== f.key))}
            />
            {f.label}
          </label>
        )}
      </For>
    </div>
  );
}

function AccountForm(props: { account?: Account; features: Feature[]; onDone: () => void; onClose: () => void }) {
  const [depts] = departmentsResource();
  const [perms, setPerms] = createSignal<string[]>(props.account?.permissions ?? ['home']);
  let form!: HTMLFormElement;
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(form);
    const s = (k: string) => String(f.get(k) ?? '');
    const quota = s('quota').trim();
    const body: Record<string, unknown> = {
      displayName: s('displayName'),
      phone: s('phone'),
      email: s('email'),
      departmentId: s('departmentId') || null,
      quota: quota === '' ? null : Number(quota),
      remark: s('remark'),
    };
    await runAction(
      () =>
        props.account
          ? put(`/api/accounts/${props.account.id}`, body)
          : post('/api/accounts', { ...body, name: s('name'), password: s('password'), permissions: perms() }),
      props.onDone,
    );
  };
  return (
    <Modal title={props.account ? t.fmt.labelled(t.common.edit, props.account.name) : A.add} onClose={props.onClose} wide>
      <form ref={form} onSubmit={submit}>
        <div class="form-grid">
          <Show when={!props.account}>
            <Field label={A.name} required>
              <input name="name" required maxlength={64} />
            </Field>
            <Field label={A.password} required>
              <input name="password" type="password" required minlength={12} autocomplete="new-password" />
            </Field>
          </Show>
          <Field label={A.displayName}>
            <input name="displayName" value={props.account?.displayName ?? ''} maxlength={32} />
          </Field>
          <Field label={A.department}>
            <select name="departmentId">
              <option value="">—</option>
              <For each={flatten(buildTree(depts() ?? []))}>
                {(d) => (
                  <option value={d.id} selected={d.id === props.account?.departmentId}>
                    {t.fmt.indent(d.depth) + d.name}
                  </option>
                )}
              </For>
            </select>
          </Field>
          <Field label={A.phone}>
            <input name="phone" value={props.account?.phone ?? ''} maxlength={20} />
          </Field>
          <Field label={A.email}>
            <input name="email" value={props.account?.email ?? ''} maxlength={120} />
          </Field>
          <Field label={A.quota}>
            <input name="quota" type="number" min="0" value={props.account?.quota ?? ''} />
          </Field>
          <Field label={A.remark}>
            <input name="remark" value={props.account?.remark ?? ''} maxlength={200} />
          </Field>
        </div>
        <Show when={!props.account}>
          <div class="field">
            <span>{A.permissions}</span>
            <PermissionBoxes features={props.features} value={perms()} onChange={setPerms} />
          </div>
        </Show>
        <div class="form-actions">
          <button type="button" onClick={props.onClose}>
            {t.common.cancel}
          </button>
          <button type="submit" class="primary">
            {t.common.save}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function PermissionsDialog(props: { account: Account; features: Feature[]; onDone: () => void; onClose: () => void }) {
  const [perms, setPerms] = createSignal<string[]>(props.account.permissions);
  const save = () => runAction(() => put(`/api/accounts/${props.account.id}/permissions`, { permissions: perms() }), props.onDone);
  return (
    <Modal title={t.fmt.labelled(A.permissions, props.account.name)} onClose={props.onClose} wide>
      <PermissionBoxes features={props.features} value={perms()} onChange={setPerms} />
      <div class="form-actions">
        <button type="button" onClick={props.onClose}>
          {t.common.cancel}
        </button>
        <button type="button" class="primary" onClick={() => void save()}>
          {t.common.save}
        </button>
      </div>
    </Modal>
  );
}

function DetailDialog(props: { account: Account; features: Feature[]; onDone: () => void; onClose: () => void }) {
  const [sigs] = createResource(() => get<{ items: Signature[] }>('/api/signatures/usable').then((r) => r.items));
  const label = (k: string) => props.features.find((f) => f.key === k)?.label ?? k;
  const setDefault = (id: string) =>
    runAction(() => put(`/api/accounts/${props.account.id}/default-signature`, { signatureId: id || null }), props.onDone);
  const a = props.account;
  return (
    <Modal title={A.detail} onClose={props.onClose} wide>
      <table class="grid">
        <tbody>
          <tr>
            <th>{A.name}</th>
            <td>{a.name}</td>
            <th>{A.displayName}</th>
            <td>{a.displayName || '—'}</td>
          </tr>
          <tr>
            <th>{A.department}</th>
            <td>{a.departmentName ?? '—'}</td>
            <th>{A.status}</th>
            <td>{a.status === 'active' ? A.active : A.frozen}</td>
          </tr>
          <tr>
            <th>{A.phone}</th>
            <td>{a.phone || '—'}</td>
            <th>{A.email}</th>
            <td>{a.email || '—'}</td>
          </tr>
          <tr>
            <th>{A.quota}</th>
            <td>{a.quota ?? '—'}</td>
            <th>{t.common.createdAt}</th>
            <td>{fmtTime(a.createdAt)}</td>
          </tr>
          <tr>
            <th>{A.permissions}</th>
            <td colspan={3}>{a.role === 'admin' ? A.all : t.fmt.list(a.permissions.map(label)) || '—'}</td>
          </tr>
        </tbody>
      </table>
      <Show when={a.role === 'sub'}>
        <Field label={A.defaultSignature}>
          <select onChange={(e) => void setDefault(e.currentTarget.value)} data-testid="default-signature">
            <option value="">—</option>
            <For each={sigs() ?? []}>
              {(s) => (
                <option value={s.id} selected={s.id === a.defaultSignatureId}>
                  {t.fmt.signature(s.text)}
                </option>
              )}
            </For>
          </select>
        </Field>
      </Show>
    </Modal>
  );
}

/** 账户管理: sub-accounts with department, permissions, status, password reset, default signature. */
export function AccountsPage() {
  const [page, setPage] = createSignal(1);
  const [keyword, setKeyword] = createSignal('');
  const [features] = createResource(() => get<{ items: Feature[] }>('/api/auth/features').then((r) => r.items));
  const [list, { refetch }] = createResource(
    () => ({ page: page(), keyword: keyword() }),
    (q) => get<{ items: Account[]; total: number; page: number; pageSize: number }>(`/api/accounts${qs({ ...q, pageSize: 20 })}`),
  );
  const [dialog, setDialog] = createSignal<{ kind: 'add' | 'edit' | 'perms' | 'view'; account?: Account } | null>(null);
  const done = () => {
    setDialog(null);
    void refetch();
  };
  const act = (fn: () => Promise<unknown>) => runAction(fn, refetch);
  const resetPassword = async (a: Account) => {
    // Typed masked, never in clear.
    const pw = await askText({
      title: t.fmt.labelled(A.resetPassword, a.name),
      label: A.newPassword,
      type: 'password',
      placeholder: A.passwordHint,
    });
    if (pw) void act(() => post(`/api/accounts/${a.id}/reset-password`, { password: pw }));
  };
  return (
    <Page
      title={A.title}
      actions={
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'add' })}>
          {A.add}
        </button>
      }
    >
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setKeyword(String(new FormData(e.currentTarget).get('keyword') ?? ''));
          setPage(1);
        }}
      >
        <input name="keyword" placeholder={`${A.name} / ${A.displayName} / ${A.phone}`} />
        <button type="submit">{t.common.search}</button>
      </form>
      <Grid
        testId="accounts-table"
        rows={list()?.items}
        head={[A.name, A.displayName, A.department, A.role, A.defaultSignature, A.status, t.common.actions]}
        row={(a) => (
          <tr data-account={a.name}>
            <td>{a.name}</td>
            <td>{a.displayName}</td>
            <td>{a.departmentName ?? '—'}</td>
            <td>{a.role === 'admin' ? A.roleAdmin : A.roleSub}</td>
            <td>{a.defaultSignature ? t.fmt.signature(a.defaultSignature) : '—'}</td>
            <td>
              <Show when={a.role === 'sub'} fallback={<Badge kind="ok">{A.active}</Badge>}>
                <button
                  type="button"
                  class="link"
                  onClick={async () => {
                    if (a.status !== 'active') return void act(() => post(`/api/accounts/${a.id}/unfreeze`));
                    if (await askConfirm(A.confirmFreeze, { danger: true })) void act(() => post(`/api/accounts/${a.id}/freeze`));
                  }}
                >
                  {a.status === 'active' ? <Badge kind="ok">{A.active}</Badge> : <Badge kind="err">{A.frozen}</Badge>}
                </button>
              </Show>
            </td>
            <td>
              <button type="button" class="link" onClick={() => setDialog({ kind: 'view', account: a })}>
                {t.common.view}
              </button>
              <Show when={a.role === 'sub'}>
                <button type="button" class="link" onClick={() => setDialog({ kind: 'edit', account: a })}>
                  {t.common.edit}
                </button>
                <button type="button" class="link" onClick={() => setDialog({ kind: 'perms', account: a })}>
                  {A.permissions}
                </button>
                <button type="button" class="link" onClick={() => resetPassword(a)}>
                  {A.resetPassword}
                </button>
                <button type="button" class="link danger" onClick={() => confirmDelete(() => del(`/api/accounts/${a.id}`), refetch)}>
                  {t.common.delete}
                </button>
              </Show>
            </td>
          </tr>
        )}
      />
      <Pager page={page()} pageSize={20} total={list()?.total ?? 0} onPage={setPage} />
      <Show when={dialog()}>
        {(d) => (
          <>
            <Show when={d().kind === 'add' || d().kind === 'edit'}>
              <AccountForm account={d().account} features={features() ?? []} onDone={done} onClose={() => setDialog(null)} />
            </Show>
            <Show when={d().kind === 'perms'}>
              <PermissionsDialog account={d().account!} features={features() ?? []} onDone={done} onClose={() => setDialog(null)} />
            </Show>
            <Show when={d().kind === 'view'}>
              <DetailDialog
                account={d().account!}
                features={features() ?? []}
                onDone={() => void refetch()}
                onClose={() => setDialog(null)}
              />
            </Show>
          </>
        )}
      </Show>
    </Page>
  );
}
