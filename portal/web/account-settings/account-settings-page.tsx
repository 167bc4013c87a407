import { createResource, createSignal, Show } from 'solid-js';
import { del, get, post } from '../lib/api.ts';
import { can, me } from '../lib/session.ts';
import { t } from '../i18n/zh-CN.ts';
import { Badge, Field, Grid, notify, notifyError, Page, runAction, fmtTime } from '../ui/ui.tsx';
import { ProfileForm } from './profile-form.tsx';

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
    if (await runAction(() => post('/api/auth/password', { oldPassword: f.get('oldPassword'), newPassword: f.get('newPassword') })))
      form.reset();
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
      <p class="muted small">{S.passwordRule}</p>
      <Field label={S.confirmPassword} required>
        <input type="password" name="confirm" required minlength={12} autocomplete="new-password" />
      </Field>
      <button type="submit" class="primary">
        {t.common.save}
      </button>
    </form>
  );
}

interface TotpStatus {
  enabled: boolean;
  required: boolean;
  recoveryCodesLeft: number;
}

/** 动态口令: enable (scan, confirm with a code, keep the recovery codes), renew the codes, switch off. */
function SecondFactor() {
  const [status, { refetch }] = createResource(() => get<TotpStatus>('/api/auth/totp'));
  const [setup, setSetup] = createSignal<{ secret: string; otpauthUrl: string; qrDataUrl: string }>();
  const [codes, setCodes] = createSignal<string[]>([]);
  const code = (e: Event, name = 'code') => String(new FormData(e.currentTarget as HTMLFormElement).get(name) ?? '');
  const start = async () => {
    try {
      setCodes([]);
      setSetup(await post('/api/auth/totp/setup'));
    } catch (err) {
      notifyError(err);
    }
  };
  const enable = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await post<{ recoveryCodes: string[] }>('/api/auth/totp/enable', { code: code(e) });
      setSetup(undefined);
      setCodes(r.recoveryCodes);
      notify('ok', S.totpEnabled);
      void refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  const renew = async (e: Event) => {
    e.preventDefault();
    try {
      setCodes((await post<{ recoveryCodes: string[] }>('/api/auth/totp/recovery-codes', { code: code(e) })).recoveryCodes);
      (e.currentTarget as HTMLFormElement).reset();
      void refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  const disable = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    if (await runAction(() => post('/api/auth/totp/disable', { password: code(e, 'password'), code: code(e) }), refetch, S.totpDisabled))
      form.reset();
  };
  return (
    <div class="card" style={{ 'max-width': '560px' }} data-testid="totp-settings">
      <h2>{S.totp}</h2>
      <Show when={status()}>
        {(st) => (
          <>
            <Show when={st().required}>
              <p class="small">{S.totpRequired}</p>
            </Show>
            <Show
              when={st().enabled}
              fallback={
                <>
                  <p>{S.totpOff}</p>
                  <Show
                    when={setup()}
                    fallback={
                      <button type="button" class="primary" onClick={() => void start()}>
                        {S.totpSetup}
                      </button>
                    }
                  >
                    {(su) => (
                      <form onSubmit={enable}>
                        <p class="small">{S.totpScan}</p>
                        <img src={su().qrDataUrl} alt={su().otpauthUrl} width="180" height="180" />
                        <p class="secret">{su().secret}</p>
                        <div class="toolbar">
                          <input name="code" required maxlength={6} inputmode="numeric" autocomplete="one-time-code" placeholder="123456" />
                          <button type="submit" class="primary">
                            {S.totpEnable}
                          </button>
                        </div>
                      </form>
                    )}
                  </Show>
                </>
              }
            >
              <p>
                {S.totpOn}
                {st().recoveryCodesLeft}
              </p>
              <form class="toolbar" onSubmit={renew}>
                <input name="code" required maxlength={32} placeholder={S.totpCode} autocomplete="one-time-code" />
                <button type="submit">{S.totpNewCodes}</button>
              </form>
              <Show when={!st().required}>
                <form class="toolbar" onSubmit={disable}>
                  <input name="password" type="password" required placeholder={t.login.password} autocomplete="current-password" />
                  <input name="code" required maxlength={32} placeholder={S.totpCode} autocomplete="one-time-code" />
                  <button type="submit" class="danger">
                    {S.totpDisable}
                  </button>
                </form>
              </Show>
            </Show>
            <Show when={codes().length}>
              <p>{S.recoveryOnce}</p>
              <pre class="secret" data-testid="recovery-codes">
                {codes().join('\n')}
              </pre>
            </Show>
          </>
        )}
      </Show>
    </div>
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
        head={[S.keyName, S.prefix, t.common.createdAt, S.lastUsed, t.common.actions]}
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

/** 账户设置: my details (name, phone, e-mail: editable), change password, the TOTP second factor, my API keys. */
export function AccountSettingsPage() {
  return (
    <Page title={S.title}>
      <div class="card">
        <p>
          {t.fmt.labelled(t.accounts.name, me()?.name ?? '')}
          {t.fmt.gap}
          {t.fmt.labelled(t.accounts.role, me()?.roleLabel ?? '')}
          {t.fmt.gap}
          {me()?.enterpriseName ?? ''}
        </p>
      </div>
      <ProfileForm />
      <ChangePassword />
      <SecondFactor />
      <Show when={can('apikeys')}>
        <ApiKeys />
      </Show>
    </Page>
  );
}
