import { createEffect, createResource, Match, onMount, Switch, type Component } from 'solid-js';
import { Dynamic, render } from 'solid-js/web';
import { get, setOnUnauthenticated } from './lib/api.ts';
import { navigate, path } from './lib/router.tsx';
import { me, refreshMe, setMe } from './lib/session.ts';
import { t } from './i18n/zh-CN.ts';
import { TopBar } from './layout/top-bar.tsx';
import { Toast, Page } from './ui/ui.tsx';
import { StatusPage } from './status/status-page.tsx';
import { LoginPage } from './login/login-page.tsx';
import { ROUTES } from './routes.tsx';
import './layout/app.css';

interface Branding {
  platformName: string;
  logoUrl: string | null;
}

function Placeholder() {
  return (
    <Page title={t.placeholder.title}>
      <p>{t.placeholder.body}</p>
    </Page>
  );
}

function Forbidden() {
  return (
    <Page title={t.placeholder.forbidden}>
      <p data-testid="forbidden">{t.placeholder.forbiddenBody}</p>
    </Page>
  );
}

function App() {
  const [branding, { refetch: refetchBranding }] = createResource(() =>
    get<Branding>('/api/branding').catch(() => ({ platformName: t.app.name, logoUrl: null })),
  );
  setOnUnauthenticated(() => {
    setMe(null);
    if (path() !== '/status') navigate('/login', true);
  });
  onMount(() => void refreshMe());
  // Keep the address bar honest: /login when logged out, away from /login once logged in.
  createEffect(() => {
    const m = me();
    if (m === null && path() !== '/login' && path() !== '/status') navigate('/login', true);
    if (m && path() === '/login') navigate(m.role === 'operator' ? '/review' : '/', true);
  });
  window.addEventListener('branding-changed', () => void refetchBranding());

  const page = (): Component => {
    const p = path();
    const r = ROUTES.find((x) => (x.exact ? p === x.path : p === x.path || p.startsWith(x.path + '/')));
    if (r && r.allowed && !r.allowed()) return Forbidden;
    return r?.component ?? Placeholder;
  };

  return (
    <>
      <Switch>
        <Match when={path() === '/status' && !me()}>
          <div class="public">
            <StatusPage />
          </div>
        </Match>
        <Match when={me() === undefined}>
          <p class="center">{t.app.loading}</p>
        </Match>
        <Match when={me() === null}>
          <LoginPage logoUrl={branding()?.logoUrl} />
        </Match>
        <Match when={me()}>
          <TopBar logoUrl={branding()?.logoUrl} platformName={branding()?.platformName ?? t.app.name} />
          <main class="content">
            <Dynamic component={page()} />
          </main>
        </Match>
      </Switch>
      <Toast />
    </>
  );
}

render(() => <App />, document.getElementById('app')!);
