import { createResource, createSignal, Match, Switch } from 'solid-js';
import { api, del, get } from '../lib/api.ts';
import { can } from '../lib/session.ts';
import { t } from '../i18n/zh-CN.ts';
import { Badge, confirmDelete, Field, Grid, notifyError, Page, runAction, Tabs, fmtTime } from '../ui/ui.tsx';
import { ManualView } from '../manual/manual-page.tsx';
import { LogTable } from './log-table.tsx';

const S = t.settings;

interface OpLog {
  id: number;
  accountName: string;
  action: string;
  target: string;
  ip: string;
  at: string;
}
interface LoginLog {
  id: number;
  accountName: string;
  ip: string;
  success: boolean;
  reason: string;
  at: string;
}
interface Qualification {
  id: string;
  title: string;
  fileName: string;
  status: string;
  reason: string;
  createdAt: string;
}

const REASONS: Record<string, string> = S.loginReasons;

function LogoSettings() {
  const [branding, { refetch }] = createResource(() => get<{ logoUrl: string | null }>('/api/branding'));
  const changed = () => {
    void refetch();
    window.dispatchEvent(new Event('branding-changed'));
  };
  const upload = async (e: Event) => {
    e.preventDefault();
    await runAction(() => api('POST', '/api/settings/logo', new FormData(e.currentTarget as HTMLFormElement)), changed);
  };
  return (
    <div class="card">
      <p>
        {branding()?.logoUrl ? (
          <img src={branding()!.logoUrl!} alt="LOGO" class="logo-img" style={{ background: '#1b5fb4', padding: '6px' }} />
        ) : (
          t.app.name
        )}
      </p>
      <form onSubmit={upload} class="toolbar">
        <Field label={S.uploadLogo}>
          <input type="file" name="file" accept="image/png,image/jpeg" required />
        </Field>
        <button type="submit" class="primary">
          {S.upload}
        </button>
        <button type="button" onClick={() => void del('/api/settings/logo').then(changed, notifyError)}>
          {S.removeLogo}
        </button>
      </form>
    </div>
  );
}

function Qualifications() {
  const [list, { refetch }] = createResource(() => get<{ items: Qualification[] }>('/api/settings/qualifications').then((r) => r.items));
  const upload = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    if (await runAction(() => api('POST', '/api/settings/qualifications', new FormData(form)), refetch)) form.reset();
  };
  return (
    <>
      <form onSubmit={upload} class="toolbar">
        <input name="title" placeholder={S.qualTitle} required maxlength={64} />
        <input type="file" name="file" accept="application/pdf,image/png,image/jpeg" required title={S.qualFile} />
        <button type="submit" class="primary">
          {S.upload}
        </button>
        <span class="muted small">{S.qualFile}</span>
      </form>
      <Grid
        rows={list()}
        head={[S.qualTitle, t.fmt.file, t.common.status, t.signatures.reason, t.common.createdAt, t.common.actions]}
        row={(q) => (
          <tr>
            <td>{q.title}</td>
            <td>
              <a href={`/api/settings/qualifications/${q.id}/file`}>{q.fileName}</a>
            </td>
            <td>
              {q.status === 'approved' ? (
                <Badge kind="ok">{t.signatures.approved}</Badge>
              ) : q.status === 'pending' ? (
                <Badge kind="warn">{t.signatures.pending}</Badge>
              ) : (
                <Badge kind="err">{t.signatures.rejected}</Badge>
              )}
            </td>
            <td>{q.reason || '—'}</td>
            <td>{fmtTime(q.createdAt)}</td>
            <td>
              <button
                type="button"
                class="link danger"
                onClick={() => confirmDelete(() => del(`/api/settings/qualifications/${q.id}`), refetch)}
              >
                {t.common.delete}
              </button>
            </td>
          </tr>
        )}
      />
    </>
  );
}

/** 平台设置: operation log, login log, logo, manual, qualification documents. */
export function SettingsPage() {
  const tabs = () =>
    [
      can('settings.logs') && { key: 'op', label: S.opLog },
      can('settings.logs') && { key: 'login', label: S.loginLog },
      can('settings.platform') && { key: 'logo', label: S.logo },
      { key: 'manual', label: S.manual },
      can('settings.platform') && { key: 'qual', label: S.qualifications },
    ].filter(Boolean) as { key: string; label: string }[];
  const [tab, setTab] = createSignal(tabs()[0]?.key ?? 'manual');
  return (
    <Page title={S.title}>
      <Tabs tabs={tabs()} active={tab()} onChange={setTab} />
      <Switch>
        <Match when={tab() === 'op'}>
          <LogTable<OpLog>
            path="/api/settings/op-log"
            testId="op-log"
            head={[S.who, S.action, S.target, S.ip, S.at]}
            row={(r) => (
              <tr>
                <td>{r.accountName}</td>
                <td>{r.action}</td>
                <td>{r.target}</td>
                <td>{r.ip}</td>
                <td>{fmtTime(r.at)}</td>
              </tr>
            )}
          />
        </Match>
        <Match when={tab() === 'login'}>
          <LogTable<LoginLog>
            path="/api/settings/login-log"
            testId="login-log"
            head={[t.accounts.name, S.result, S.reason, S.ip, S.at]}
            row={(r) => (
              <tr>
                <td>{r.accountName}</td>
                <td>{r.success ? <Badge kind="ok">{S.success}</Badge> : <Badge kind="err">{S.failure}</Badge>}</td>
                <td>{REASONS[r.reason] ?? r.reason}</td>
                <td>{r.ip}</td>
                <td>{fmtTime(r.at)}</td>
              </tr>
            )}
          />
        </Match>
        <Match when={tab() === 'logo'}>
          <LogoSettings />
        </Match>
        <Match when={tab() === 'manual'}>
          <ManualView />
        </Match>
        <Match when={tab() === 'qual'}>
          <Qualifications />
        </Match>
      </Switch>
    </Page>
  );
}
