import { createSignal, onCleanup, type Accessor } from 'solid-js';
import { api, get } from '../lib/api.ts';
import { notify, notifyError } from '../ui/ui.tsx';
import { ti } from './zh-CN.ts';

/** The server's report on a batch / mail-merge file: rows, accepted, duplicates, the rejected lines, a preview. */
export interface UploadReport {
  uploadId: string;
  rows: number;
  accepted: number;
  duplicates: number;
  rejectedTotal: number;
  rejected: { line: number; message: string }[];
  preview: { line: number; msisdn: string; content?: string }[];
}

/** A batch / mail-merge file being read and checked on the server (GET /api/industry/imports/:id). */
export interface UploadJob {
  jobId: string;
  phase: 'reading' | 'importing' | 'done' | 'failed';
  rows: number;
  processed: number;
  percent: number;
  error: { code: string; message: string } | null;
  upload: UploadReport | null;
}

/**
 * A batch / mail-merge file is read and checked as a background job on the server; the page polls it
 * for the bar. `choose` starts one (a later choice or `cancel` abandons the one before); `upload` is
 * the finished report, `job` the one under way.
 */
export function uploadJobs(): {
  upload: Accessor<UploadReport | null>;
  job: Accessor<UploadJob | null>;
  choose: (kind: string, file: File | undefined) => Promise<void>;
  cancel: () => void;
} {
  const [upload, setUpload] = createSignal<UploadReport | null>(null);
  const [uploadJob, setUploadJob] = createSignal<UploadJob | null>(null);
  let polling: ReturnType<typeof setTimeout> | undefined;
  let fileSeq = 0;
  onCleanup(() => clearTimeout(polling));
  const choose = async (kind: string, file: File | undefined) => {
    if (!file) return;
    const seq = ++fileSeq;
    const f = new FormData();
    f.set('kind', kind);
    f.set('file', file);
    setUpload(null);
    try {
      let job = await api<UploadJob>('POST', '/api/industry/upload-jobs', f);
      setUploadJob(job);
      while (job.phase === 'reading' || job.phase === 'importing') {
        await new Promise((r) => (polling = setTimeout(r, 400)));
        if (seq !== fileSeq) return; // another file was chosen (or the tab changed)
        job = await get<UploadJob>(`/api/industry/imports/${job.jobId}`);
        setUploadJob(job);
      }
      if (seq !== fileSeq) return;
      if (job.phase === 'failed') {
        setUploadJob(null);
        notify('err', job.error?.message ?? ti.send.checkFailed);
        return;
      }
      setUploadJob(null);
      setUpload(job.upload);
    } catch (e) {
      if (seq !== fileSeq) return;
      setUploadJob(null);
      setUpload(null);
      notifyError(e);
    }
  };
  const cancel = () => {
    fileSeq++;
    setUploadJob(null);
    setUpload(null);
  };
  return { upload, job: uploadJob, choose, cancel };
}
