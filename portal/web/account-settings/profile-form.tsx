import { createResource, createSignal, Show } from 'solid-js';
import { ApiError, get, put } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Field, notify, notifyError } from '../ui/ui.tsx';
import { tp } from './zh-CN.ts';

interface Profile {
  name: string;
  displayName: string;
  phone: string;
  email: string;
}
type Key = 'displayName' | 'phone' | 'email';

/**
 * 本人资料: the signed-in account's own name, phone and e-mail (PUT /api/account/profile). The
 * server's reasons are shown under their fields, and a field's reason goes when it is changed.
 */
export function ProfileForm() {
  const [profile, { mutate }] = createResource(() => get<Profile>('/api/account/profile'));
  const [errors, setErrors] = createSignal<Partial<Record<Key, string>>>({});
  let form!: HTMLFormElement;
  const clear = (k: Key) => setErrors((e) => ({ ...e, [k]: undefined }));
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = {
      displayName: String(f.get('displayName') ?? ''),
      phone: String(f.get('phone') ?? ''),
      email: String(f.get('email') ?? ''),
    };
    try {
      mutate(await put<Profile>('/api/account/profile', body));
      setErrors({});
      notify('ok', tp.saved);
    } catch (err) {
      if (err instanceof ApiError && err.details?.length) {
        setErrors(Object.fromEntries(err.details.map((d) => [d.path, d.message])));
        return notify('err', err.details.map((d) => d.message).join(tp.separator));
      }
      notifyError(err);
    }
  };
  const input = (k: Key, type: string, maxlength: number, autocomplete: string) => (
    <>
      <input
        name={k}
        type={type}
        maxlength={maxlength}
        autocomplete={autocomplete}
        value={profile()?.[k] ?? ''}
        aria-invalid={errors()[k] ? 'true' : undefined}
        onInput={() => clear(k)}
      />
      <Show when={errors()[k]}>
        <small class="error" data-error={k}>
          {errors()[k]}
        </small>
      </Show>
    </>
  );
  return (
    <Show when={profile()}>
      <form class="card" ref={form} onSubmit={submit} style={{ 'max-width': '420px' }} data-testid="profile-form">
        <h2>{tp.title}</h2>
        <Field label={tp.displayName}>{input('displayName', 'text', 32, 'name')}</Field>
        <Field label={tp.phone}>{input('phone', 'tel', 20, 'tel')}</Field>
        <p class="muted small">{tp.phoneHint}</p>
        <Field label={tp.email}>{input('email', 'email', 120, 'email')}</Field>
        <button type="submit" class="primary">
          {t.common.save}
        </button>
      </form>
    </Show>
  );
}
