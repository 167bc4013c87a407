import { createSignal, For, Show } from 'solid-js';
import { render } from 'solid-js/web';
import { t } from '../i18n/zh-CN.ts';

/**
 * The app's own dialogs, in place of the browser's `confirm()`, `prompt()` and `alert()`: styled
 * like the rest, a password typed masked, several fields at once, a multi-line reply, and they do
 * not block the page (tests and screen readers see an ordinary `role="dialog"`). Each call returns
 * a promise; the host mounts itself into the page on first use.
 *
 * @example if (await askConfirm(t.common.confirmDelete)) await del(...)
 * @example const name = await askText({ title: '新建分组', label: '分组名称' }) // null when cancelled
 */

export interface DialogField {
  name: string;
  label: string;
  value?: string;
  /** `password` is typed masked; `textarea` for longer text (replies, reasons). @default 'text' */
  type?: 'text' | 'password' | 'textarea' | 'number' | 'tel' | 'date' | 'datetime-local';
  placeholder?: string;
  required?: boolean;
}

interface Request {
  title: string;
  message?: string;
  fields: DialogField[];
  /** Only an OK button (a notice). */
  notice?: boolean;
  danger?: boolean;
  okLabel?: string;
  resolve: (values: Record<string, string> | null) => void;
}

const [current, setCurrent] = createSignal<Request | null>(null);
const queue: Request[] = [];
let mounted = false;

function open(r: Omit<Request, 'resolve'>): Promise<Record<string, string> | null> {
  if (!mounted && typeof document !== 'undefined') {
    mounted = true;
    const el = document.createElement('div');
    el.className = 'dialog-host';
    document.body.appendChild(el);
    render(() => <DialogHost />, el);
  }
  return new Promise((resolve) => {
    const req = { ...r, resolve };
    if (current()) queue.push(req);
    else setCurrent(req);
  });
}

function close(values: Record<string, string> | null) {
  const r = current();
  setCurrent(queue.shift() ?? null);
  r?.resolve(values);
}

/** Yes or no; resolves true only on the confirm button. */
export async function askConfirm(message: string, opts: { title?: string; danger?: boolean; okLabel?: string } = {}): Promise<boolean> {
  return (
    (await open({ title: opts.title ?? t.dialog.confirmTitle, message, fields: [], danger: opts.danger, okLabel: opts.okLabel })) !== null
  );
}

/** One text field; resolves the text (trimmed), or null when cancelled. */
export async function askText(opts: Omit<DialogField, 'name'> & { title: string; message?: string }): Promise<string | null> {
  const { title, message, ...field } = opts;
  const r = await open({ title, message, fields: [{ name: 'value', required: true, ...field }] });
  return r ? (r.value ?? '').trim() : null;
}

/** Several fields at once; resolves their values by name, or null when cancelled. */
export function askFields(title: string, fields: DialogField[], message?: string): Promise<Record<string, string> | null> {
  return open({ title, message, fields });
}

/** A message to read (details, a long text); resolves when closed. */
export async function showMessage(title: string, message: string): Promise<void> {
  await open({ title, message, fields: [], notice: true });
}

function DialogHost() {
  return (
    <Show when={current()} keyed>
      {(req) => {
        const r = () => req;
        const values: Record<string, string> = Object.fromEntries(r().fields.map((f) => [f.name, f.value ?? '']));
        const [missing, setMissing] = createSignal<string | null>(null);
        const ok = (e: Event) => {
          e.preventDefault();
          const empty = r().fields.find((f) => f.required && !values[f.name]?.trim());
          if (empty) return setMissing(empty.name);
          close({ ...values });
        };
        return (
          <div class="modal-back" onKeyDown={(e) => e.key === 'Escape' && close(null)}>
            <form class="modal dialog" role="dialog" aria-modal="true" aria-label={r().title} data-testid="app-dialog" onSubmit={ok}>
              <header>
                <h2>{r().title}</h2>
                <button type="button" class="link" onClick={() => close(null)} aria-label={t.common.close}>
                  ×
                </button>
              </header>
              <Show when={r().message}>
                <p class="dialog-message">{r().message}</p>
              </Show>
              <For each={r().fields}>
                {(f, i) => (
                  <label class="field">
                    <span>{f.label}</span>
                    <Show
                      when={f.type === 'textarea'}
                      fallback={
                        <input
                          name={f.name}
                          type={f.type ?? 'text'}
                          value={values[f.name]}
                          placeholder={f.placeholder ?? ''}
                          autocomplete={f.type === 'password' ? 'new-password' : 'off'}
                          ref={(el) => i() === 0 && queueMicrotask(() => el.focus())}
                          onInput={(e) => ((values[f.name] = e.currentTarget.value), setMissing(null))}
                        />
                      }
                    >
                      <textarea
                        name={f.name}
                        rows={4}
                        placeholder={f.placeholder ?? ''}
                        ref={(el) => i() === 0 && queueMicrotask(() => el.focus())}
                        onInput={(e) => ((values[f.name] = e.currentTarget.value), setMissing(null))}
                      >
                        {values[f.name]}
                      </textarea>
                    </Show>
                    <Show when={missing() === f.name}>
                      <small class="error">{t.dialog.required(f.label)}</small>
                    </Show>
                  </label>
                )}
              </For>
              <footer class="dialog-actions">
                <Show when={!r().notice}>
                  <button type="button" class="secondary" onClick={() => close(null)}>
                    {t.common.cancel}
                  </button>
                </Show>
                <button type="submit" classList={{ danger: r().danger }} data-action="ok">
                  {r().okLabel ?? t.common.confirm}
                </button>
              </footer>
            </form>
          </div>
        );
      }}
    </Show>
  );
}
