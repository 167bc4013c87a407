import { createSignal, For, onCleanup, Show } from 'solid-js';
import { api, get } from '../lib/api.ts';
import { Field, Modal, notify, notifyError } from '../ui/ui.tsx';
import { GroupChecks, type Group } from './book-groups.tsx';
import { ti } from './zh-CN.ts';

/** An address-book import running on the server (GET /api/industry/imports/:id). */
interface ImportJob {
  jobId: string;
  phase: 'reading' | 'importing' | 'done' | 'failed';
  rows: number;
  processed: number;
  percent: number;
  imported: number;
  rejectedTotal: number;
  rejected: { line: number; message: string }[];
  error: { code: string; message: string } | null;
}

/**
 * 导入通讯录: a file and the groups to put its contacts in; the import runs on the server as a
 * job, polled for the progress bar until done or failed (closing the dialog stops the polling,
 * not the import). `onDone` reloads the book's lists.
 */
export function ImportDialog(props: { base: string; groups: (Group & { depth: number })[]; onClose: () => void; onDone: () => void }) {
  const [importing, setImporting] = createSignal<{ groupIds: string[]; file?: File; job?: ImportJob }>({ groupIds: [] });
  let closed = false;
  let polling: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => {
    closed = true;
    clearTimeout(polling);
  });
  /** Starts the import (a background job on the server) and polls it for the progress bar. */
  const doImport = async () => {
    const st = importing();
    if (!st.file) return notify('err', ti.books.pickFile);
    const f = new FormData();
    f.set('file', st.file);
    f.set('groupIds', st.groupIds.join(','));
    try {
      let job = await api<ImportJob>('POST', `${props.base}/import`, f);
      setImporting({ ...st, job });
      while (job.phase === 'reading' || job.phase === 'importing') {
        await new Promise((r) => (polling = setTimeout(r, 400)));
        if (closed) return; // closed: the import goes on on the server
        job = await get<ImportJob>(`/api/industry/imports/${job.jobId}`);
        setImporting({ ...importing(), job });
      }
      if (job.phase === 'failed') notify('err', job.error?.message ?? ti.books.importFailed);
      props.onDone();
    } catch (e) {
      notifyError(e);
    }
  };
  return (
    <Modal title={ti.books.import} onClose={props.onClose} wide>
      <p class="muted small">
        {ti.books.importHint}
        <a href="/api/industry/upload-templates/contacts">{ti.books.templateDownload}</a>
      </p>
      <input type="file" accept=".txt,.csv,.xlsx" onChange={(e) => setImporting({ ...importing(), file: e.currentTarget.files?.[0] })} />
      <Field label={ti.books.pickGroups}>
        <GroupChecks groups={props.groups} value={importing().groupIds} onChange={(v) => setImporting({ ...importing(), groupIds: v })} />
      </Field>
      <Show when={importing().job}>
        {(j) => (
          <div class="import-job" data-testid="import-job" data-phase={j().phase}>
            <Show when={j().phase === 'reading' || j().phase === 'importing'}>
              {/* No value while reading: an indeterminate bar (progress.value = undefined throws). */}
              <Show when={j().phase === 'importing'} fallback={<progress data-testid="import-progress" data-phase="reading" max="100" />}>
                <progress data-testid="import-progress" data-phase="importing" max="100" value={j().percent} />
              </Show>
              <p class="muted small">
                {j().phase === 'reading'
                  ? ti.books.importReading(j().processed)
                  : ti.books.importProgress(j().processed, j().rows, j().percent)}
              </p>
            </Show>
            <Show when={j().phase === 'failed'}>
              <p class="error" data-testid="import-error">
                {j().error?.message}
              </p>
            </Show>
            <Show when={j().phase === 'done'}>
              <progress max="100" value={100} />
              <p data-testid="import-done">{ti.books.importDone(j().imported, j().rejectedTotal)}</p>
              <ul class="rejected">
                <For each={j().rejected.slice(0, 200)}>{(x) => <li>{x.message}</li>}</For>
              </ul>
            </Show>
          </div>
        )}
      </Show>
      <div class="form-actions">
        <button
          type="button"
          class="primary"
          disabled={importing().job?.phase === 'reading' || importing().job?.phase === 'importing'}
          onClick={() => void doImport()}
        >
          {ti.books.importButton}
        </button>
      </div>
    </Modal>
  );
}
