import { createResource, createSignal, Show } from 'solid-js';
import { get, post } from '../lib/api.ts';
import { navigate } from '../lib/router.tsx';
import { setMe, type Me } from '../lib/session.ts';
import { t } from '../i18n/zh-CN.ts';
import { Link } from '../lib/router.tsx';

interface Captcha {
  captchaId: string;
  svg: string;
}

/** 登录: account name, password and an image captcha. */
export function LoginPage(props: { logoUrl?: string | null }) {
  const [captcha, { refetch }] = createResource(() => get<Captcha>('/api/auth/captcha'));
  const [error, setError] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  let form!: HTMLFormElement;

  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(form);
    setBusy(true);
    setError('');
    try {
      const me = await post<Me>('/api/auth/login', {
        name: String(f.get('name') ?? ''),
        password: String(f.get('password') ?? ''),
        captchaId: captcha()?.captchaId ?? '',
        captcha: String(f.get('captcha') ?? ''),
      });
      setMe(me);
      navigate(me.role === 'operator' ? '/review' : '/', true);
    } catch (err) {
      setError((err as Error).message);
      (form.elements.namedItem('captcha') as HTMLInputElement).value = '';
      void refetch();
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login-wrap">
      <form class="login card" ref={form} onSubmit={submit} autocomplete="on">
        <div class="login-brand">
          <Show when={props.logoUrl} fallback={<span class="logo-text">{t.app.name}</span>}>
            <img src={props.logoUrl!} alt={t.app.name} class="logo-img" />
          </Show>
          <div class="muted">{t.app.slogan}</div>
        </div>
        <h1>{t.login.title}</h1>
        <label class="field">
          <span>{t.login.name}</span>
          <input name="name" autocomplete="username" required maxlength={64} />
        </label>
        <label class="field">
          <span>{t.login.password}</span>
          <input name="password" type="password" autocomplete="current-password" required maxlength={128} />
        </label>
        <label class="field">
          <span>{t.login.captcha}</span>
          <div class="captcha-row">
            <input name="captcha" required maxlength={8} autocomplete="off" />
            <button type="button" class="captcha" title={t.login.refreshCaptcha} onClick={() => void refetch()} innerHTML={captcha()?.svg ?? ''} />
          </div>
        </label>
        <Show when={error()}>
          <p class="error" role="alert">
            {error()}
          </p>
        </Show>
        <button type="submit" class="primary" disabled={busy()}>
          {t.login.submit}
        </button>
        <p class="muted small">{t.login.hint}</p>
        <p class="small">
          <Link href="/status">{t.menu.status}</Link>
        </p>
      </form>
    </div>
  );
}
