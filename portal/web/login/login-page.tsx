import { createResource, createSignal, Show } from 'solid-js';
import { ApiError, get, post } from '../lib/api.ts';
import { navigate } from '../lib/router.tsx';
import { setMe, type Me } from '../lib/session.ts';
import { t } from '../i18n/zh-CN.ts';
import { Link } from '../lib/router.tsx';

interface Captcha {
  captchaId: string;
  svg: string;
}

/** The login's second step, when the account has TOTP or (an operator) must bind it first. */
interface LoginStep {
  next: 'totp' | 'enrol';
  challenge: string;
}
interface Enrolment {
  secret: string;
  otpauthUrl: string;
  qrDataUrl: string;
}

/** 401s of the second step after which no code can finish it: show the message and start the login again. */
const RESTARTS_LOGIN = new Set(['LOGIN_STEP_EXPIRED', 'LOGIN_STEP_CLIENT']);

const enter = (me: Me) => {
  setMe(me);
  navigate(me.role === 'operator' ? '/review' : '/', true);
};

/** 动态口令: a code from the app or a recovery code; for an operator without one, binding it first. */
function SecondStep(props: { step: LoginStep; onRestart: (why?: string) => void }) {
  const [error, setError] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [enrol] = createResource(
    () => (props.step.next === 'enrol' ? props.step.challenge : undefined),
    (challenge) => post<Enrolment>('/api/auth/login/enrol', { challenge }),
  );
  const [codes, setCodes] = createSignal<{ me: Me; recoveryCodes: string[] }>();
  let form!: HTMLFormElement;
  const submit = async (e: Event) => {
    e.preventDefault();
    const code = String(new FormData(form).get('code') ?? '');
    setBusy(true);
    setError('');
    try {
      if (props.step.next === 'totp') enter(await post<Me>('/api/auth/login/totp', { challenge: props.step.challenge, code }));
      else {
        const r = await post<Me & { recoveryCodes: string[] }>('/api/auth/login/enrol/confirm', { challenge: props.step.challenge, code });
        setCodes({ me: r, recoveryCodes: r.recoveryCodes });
      }
    } catch (err) {
      // The challenge is gone (expired, too many wrong codes) or was answered from another client:
      // no code can finish it, so the login starts again with the reason shown.
      if (err instanceof ApiError && RESTARTS_LOGIN.has(err.code)) return props.onRestart(err.message);
      setError((err as Error).message);
      (form.elements.namedItem('code') as HTMLInputElement).value = '';
    } finally {
      setBusy(false);
    }
  };
  return (
    <Show
      when={!codes()}
      fallback={
        <div data-testid="recovery-codes">
          <h1>{t.login.recoveryTitle}</h1>
          <p class="small">{t.login.recoveryPrompt}</p>
          <pre class="secret">{codes()!.recoveryCodes.join('\n')}</pre>
          <button type="button" class="primary" onClick={() => enter(codes()!.me)}>
            {t.login.recoveryDone}
          </button>
        </div>
      }
    >
      <form ref={form} onSubmit={submit} autocomplete="off">
        <h1>{props.step.next === 'totp' ? t.login.totpTitle : t.login.enrolTitle}</h1>
        <p class="small">{props.step.next === 'totp' ? t.login.totpPrompt : t.login.enrolPrompt}</p>
        <Show when={enrol()}>
          {(e) => (
            <div class="totp-enrol">
              <img src={e().qrDataUrl} alt={e().otpauthUrl} width="180" height="180" />
              <p class="small">
                {t.fmt.label(t.login.enrolSecret)}
                <code class="secret">{e().secret}</code>
              </p>
            </div>
          )}
        </Show>
        <label class="field">
          <span>{t.login.totpCode}</span>
          <input name="code" required maxlength={32} inputmode="numeric" autocomplete="one-time-code" autofocus />
        </label>
        <Show when={error()}>
          <p class="error" role="alert">
            {error()}
          </p>
        </Show>
        <button type="submit" class="primary" disabled={busy()}>
          {props.step.next === 'totp' ? t.login.verify : t.login.enrolConfirm}
        </button>
        <p class="small">
          <a href="#" onClick={(e) => (e.preventDefault(), props.onRestart())}>
            {t.login.backToLogin}
          </a>
        </p>
      </form>
    </Show>
  );
}

/** 登录: account name, password and an image captcha; then the second step when the account has one. */
export function LoginPage(props: { logoUrl?: string | null }) {
  const [captcha, { refetch }] = createResource(() => get<Captcha>('/api/auth/captcha'));
  const [error, setError] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [step, setStep] = createSignal<LoginStep>();
  let form!: HTMLFormElement;

  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(form);
    setBusy(true);
    setError('');
    try {
      const r = await post<Me | LoginStep>('/api/auth/login', {
        name: String(f.get('name') ?? ''),
        password: String(f.get('password') ?? ''),
        captchaId: captcha()?.captchaId ?? '',
        captcha: String(f.get('captcha') ?? ''),
      });
      if ('challenge' in r) setStep(r);
      else enter(r);
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
      <Show when={step()}>
        {(st) => (
          <div class="login card">
            <SecondStep
              step={st()}
              onRestart={(why) => {
                setStep(undefined);
                setError(why ?? '');
                void refetch();
              }}
            />
          </div>
        )}
      </Show>
      <Show when={!step()}>
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
              <button
                type="button"
                class="captcha"
                title={t.login.refreshCaptcha}
                onClick={() => void refetch()}
                innerHTML={captcha()?.svg ?? ''}
              />
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
      </Show>
    </div>
  );
}
