import { createResource, createSignal, Show } from 'solid-js';
import { del, get, post } from '../lib/api.ts';
import { can, me } from '../lib/session.ts';
import { t } from '../i18n/zh-CN.ts';
import { Badge, Field, Grid, notify, notifyError, Page, runAction, fmtTime } from '../ui/ui.tsx';

const S = t.accountSettings;

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function ChangePassword() {
  let form!: HTMLFormElement;
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(form);
    if (f.get('newPassword') !== f.get('confirm')) return notify('err', S.mismatch);
    if (await runAction(() => post('/api/auth/password', { oldPassword: f.get('oldPassword'), newPassword: f.get('newPassword') }))) form.reset();
  };
  return (
    <form class="card" ref={form} onSubmit={submit} style={{ 'max-width': '420px' }}>
      <h2>{S.changePassword}</h2>
      <Field label={S.oldPassword} required>
        <input type="password" name="oldPassword" required autocomplete="current-password" />
      </Field>
      <Field label={S.newPassword} required>
        <input type="password" name="newPassword" required minlength={12} autocomplete="new-password" />
      </Field>
      <Field label={S.confirmPassword} required>
        <input type="password" name="confirm" required minlength={12} autocomplete="new-password" />
      </Field>
      <button type="submit" class="primary">
        {t.common.save}
      </button>
    </form>
  );
}

function ApiKeys() {
  const [keys, { refetch }] = createResource(() => get<{ items: ApiKey[] }>('/api/api-keys').then((r) => r.items));
  const [secret, setSecret] = createSignal('');
  const create = async (e: Event) => {
    e.preventDefault();
    const input = (e.currentTarget as HTMLFormElement).elements.namedItem('name') as HTMLInputElement;
    try {
      const k = await post<ApiKey & { key: string }>('/api/api-keys', { name: input.value });
      setSecret(k.key);
      input.value = '';
      void refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  return (
    <div class="card">
      <h2>{S.apiKeys}</h2>
      <form class="toolbar" onSubmit={create}>
        <input name="name" placeholder={S.keyName} required maxlength={64} />
        <button type="submit" class="primary">
          {S.createKey}
        </button>
      </form>
      <Show when={secret()}>
        <p>{S.keyOnce}</p>
        <p class="secret" data-testid="api-key-secret">
          {secret()}
        </p>
      </Show>
      <Grid
        rows={keys()}
        head={[S.keyName, '前缀', t.common.createdAt, S.lastUsed, t.common.actions]}
        row={(k) => (
          <tr>
            <td>{k.name}</td>
            <td>
              <code>{k.prefix}…</code>
            </td>
            <td>{fmtTime(k.createdAt)}</td>
            <td>{fmtTime(k.lastUsedAt)}</td>
            <td>
              <Show when={!k.revokedAt} fallback={<Badge kind="muted">{S.revoked}</Badge>}>
                <button type="button" class="link danger" onClick={() => void runAction(() => del(`/api/api-keys/${k.id}`), refetch)}>
                  {S.revoke}
                </button>
              </Show>
            </td>
          </tr>
        )}
      />
    </div>
  );
}

/** 账户设置: my details, change password, my API keys. */
export function AccountSettingsPage() {
  return (
    <Page title={S.title}>
      <div class="card">
        <p>
          {t.accounts.name}：{me()?.name}　{t.accounts.role}：{me()?.roleLabel}　{me()?.enterpriseName ?? ''}
        </p>
      </div>
      <ChangePassword />
      <Show when={can('apikeys')}>
        <ApiKeys />
      </Show>
    </Page>
  );
}
