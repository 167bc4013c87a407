import { For, Show } from 'solid-js';
import type { UploadJob, UploadReport } from './upload-jobs.ts';
import { ti } from './zh-CN.ts';

/** A batch / mail-merge file's bar while the server reads and checks it, then its report (errors, the mail-merge preview): shown once. */
export function UploadProgress(props: { job: UploadJob | null; report: UploadReport | null; mode: string }) {
  return (
    <>
      <Show when={props.job}>
        {(j) => (
          <div class="import-job" data-testid="upload-job" data-phase={j().phase}>
            {/* No value while reading: an indeterminate bar. */}
            <Show when={j().phase === 'importing'} fallback={<progress data-testid="upload-progress" data-phase="reading" max="100" />}>
              <progress data-testid="upload-progress" data-phase="importing" max="100" value={j().percent} />
            </Show>
            <p class="muted small">{j().phase === 'reading' ? ti.send.uploadReading(j().processed) : ti.send.uploadChecking(j().rows)}</p>
          </div>
        )}
      </Show>
      <Show when={props.report}>
        {(u) => (
          <div data-testid="upload-report">
            <p>
              {ti.send.report(u().rows, u().accepted, u().rejectedTotal - (props.mode === 'batch' ? u().duplicates : 0), u().duplicates)}
            </p>
            <Show when={u().rejected.length}>
              <ul class="rejected">
                <For each={u().rejected.slice(0, 50)}>{(r) => <li>{r.message}</li>}</For>
              </ul>
              <a href={`/api/industry/uploads/${u().uploadId}/report`}>{ti.send.reportDownload}</a>
            </Show>
            <Show when={props.mode === 'merge' && u().preview.length}>
              <h3 class="small">{ti.send.preview}</h3>
              <table class="grid">
                <tbody>
                  <For each={u().preview}>
                    {(p) => (
                      <tr>
                        <td>{p.msisdn}</td>
                        <td>{p.content}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </Show>
          </div>
        )}
      </Show>
    </>
  );
}
