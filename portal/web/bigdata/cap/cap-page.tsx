import { createResource, createSignal, For, Show } from 'solid-js';
import { api, ApiError, get } from '../../lib/api.ts';
import { navigate } from '../../lib/router.tsx';
import { askConfirm } from '../../ui/dialog.tsx';
import { notify, notifyError, Page } from '../../ui/ui.tsx';
import { regionText, type RegionPartView } from '../tasks/task-model.ts';
import { bt } from '../zh-CN.ts';
import { elementPath } from './element-path.ts';
import { capText } from './zh-CN.ts';

/** What `POST /api/bigdata/cap/preview` answers: the form the alert would make, nothing written. */
interface Preview {
  msgType: string;
  references: string[];
  form: {
    alertType?: string;
    subject?: string;
    content?: string;
    startDate?: string;
    endDate?: string;
    exercise?: boolean;
    region?: { parts?: RegionPartView[] };
    texts?: { language: string; content: string }[];
  };
}

/**
 * 导入 CAP 预警 (#21; the #23 walk found CAP only in the API): choose a CAP 1.2 file, see either each
 * element that fails the schema, named where it is in the file, or the task it would make; then save
 * an Alert as a draft to finish on the send page, or apply an Update or a Cancel to the task it names.
 */
export function CapPage() {
  const [opts] = createResource(() => get<{ alertTypes: { value: string; label: string }[] }>('/api/bigdata/options'));
  const [file, setFile] = createSignal<File | null>(null);
  const [preview, setPreview] = createSignal<Preview | null>(null);
  const [problems, setProblems] = createSignal<{ path: string; message: string }[]>([]);
  const [busy, setBusy] = createSignal(false);
  let input!: HTMLInputElement;

  const upload = (f: File) => {
    const fd = new FormData();
    fd.set('file', f);
    return fd;
  };
  const check = async (f: File) => {
    setFile(f);
    setPreview(null);
    setProblems([]);
    setBusy(true);
    try {
      setPreview(await api<Preview>('POST', '/api/bigdata/cap/preview', upload(f)));
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) setProblems(e.details?.length ? e.details : [{ path: '', message: e.message }]);
      else notifyError(e);
    } finally {
      setBusy(false);
    }
  };
  const again = () => {
    setFile(null);
    setPreview(null);
    setProblems([]);
    input.value = '';
    input.click();
  };
  const saveDraft = async () => {
    setBusy(true);
    try {
      const r = await api<{ id: string }>('POST', '/api/bigdata/cap/draft', upload(file()!));
      notify('ok', capText.draftSaved);
      navigate(`/bigdata/send?draft=${r.id}`);
    } catch (e) {
      notifyError(e);
    } finally {
      setBusy(false);
    }
  };
  const apply = async () => {
    const cancel = preview()?.msgType === 'Cancel';
    if (cancel && !(await askConfirm(capText.confirmCancel, { danger: true, okLabel: capText.applyCancel }))) return;
    setBusy(true);
    try {
      const r = await api<{ id: string; version?: number }>('POST', '/api/bigdata/cap', upload(file()!));
      notify('ok', cancel ? capText.stopped : capText.updated(r.version));
      navigate(`/bigdata/tasks?open=${r.id}`);
    } catch (e) {
      notifyError(e);
    } finally {
      setBusy(false);
    }
  };
  const typeLabel = (v?: string) => opts()?.alertTypes.find((t) => t.value === v)?.label ?? v ?? '—';

  return (
    <Page title={capText.title}>
      <p class="muted small">{capText.hint}</p>
      <label class="field">
        <span>{capText.file}</span>
        <input
          ref={input}
          type="file"
          name="cap"
          accept=".xml,.cap,application/xml,text/xml,application/cap+xml"
          onChange={(e) => e.currentTarget.files?.[0] && void check(e.currentTarget.files[0])}
        />
      </label>
      <Show when={busy()}>
        <p class="muted small">{capText.checking}</p>
      </Show>

      <Show when={problems().length}>
        <div class="card" data-testid="cap-errors">
          <p class="error">{capText.invalid(problems().length)}</p>
          <table class="grid">
            <thead>
              <tr>
                <th>{capText.where}</th>
                <th>{capText.problem}</th>
              </tr>
            </thead>
            <tbody>
              <For each={problems()}>
                {(p) => (
                  <tr data-path={p.path}>
                    <td>
                      <code>{elementPath(p.path)}</code>
                    </td>
                    <td>{p.message}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>

      <Show when={preview()}>
        {(p) => (
          <div class="card" data-testid="cap-preview">
            <h3>{capText.preview}</h3>
            <table class="grid bd-settings">
              <tbody>
                <tr>
                  <th>{capText.msgType}</th>
                  <td data-field="msgType">{capText.msgTypes[p().msgType] ?? p().msgType}</td>
                </tr>
                <Show when={p().references.length}>
                  <tr>
                    <th>{capText.references}</th>
                    <td data-field="references">{capText.joinList(p().references)}</td>
                  </tr>
                </Show>
                <Show when={p().msgType !== 'Cancel'}>
                  <tr>
                    <th>{capText.subject}</th>
                    <td data-field="subject">{p().form.subject}</td>
                  </tr>
                  <tr>
                    <th>{capText.alertType}</th>
                    <td data-field="alertType">{typeLabel(p().form.alertType)}</td>
                  </tr>
                  <tr>
                    <th>{capText.dates}</th>
                    <td data-field="dates">
                      {p().form.startDate} ~ {p().form.endDate}
                    </td>
                  </tr>
                  <tr>
                    <th>{capText.region}</th>
                    <td data-field="region">{regionText(p().form.region?.parts ?? [])}</td>
                  </tr>
                  <tr>
                    <th>{capText.content}</th>
                    <td data-field="content" style={{ 'white-space': 'pre-wrap' }}>
                      {p().form.content || capText.noChinese}
                    </td>
                  </tr>
                  <For each={p().form.texts ?? []}>
                    {(x) => (
                      <tr>
                        <th>{capText.otherLanguage(x.language)}</th>
                        <td data-field={`text-${x.language}`} lang={x.language} style={{ 'white-space': 'pre-wrap' }}>
                          {x.content}
                        </td>
                      </tr>
                    )}
                  </For>
                  <Show when={p().form.exercise}>
                    <tr>
                      <th>{bt.tasks.exercise}</th>
                      <td>{capText.exercise}</td>
                    </tr>
                  </Show>
                </Show>
              </tbody>
            </table>
            <div class="form-actions">
              <button type="button" onClick={again} disabled={busy()}>
                {capText.another}
              </button>
              <Show
                when={p().msgType === 'Alert'}
                fallback={
                  <button
                    type="button"
                    class="primary"
                    classList={{ danger: p().msgType === 'Cancel' }}
                    data-action="cap-apply"
                    disabled={busy()}
                    onClick={() => void apply()}
                  >
                    {p().msgType === 'Cancel' ? capText.applyCancel : capText.applyUpdate}
                  </button>
                }
              >
                <button type="button" class="primary" data-action="cap-draft" disabled={busy()} onClick={() => void saveDraft()}>
                  {capText.saveDraft}
                </button>
              </Show>
            </div>
          </div>
        )}
      </Show>
    </Page>
  );
}
