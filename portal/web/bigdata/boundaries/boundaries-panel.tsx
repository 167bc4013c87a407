import { createResource, createSignal, For, Show } from 'solid-js';
import { ApiError, get, post } from '../../lib/api.ts';
import { me } from '../../lib/session.ts';
import { askConfirm } from '../../ui/dialog.tsx';
import { Badge, fmtTime, Grid, notify, runAction } from '../../ui/ui.tsx';
import { bnd } from './zh-CN.ts';

interface Version {
  id: number;
  createdAt: string;
  createdBy: string;
  fileName: string;
  fileHash: string;
  added: string[];
  replaced: string[];
  areaCount: number;
  active: boolean;
}
interface Listing {
  active: number | null;
  versions: Version[];
  withoutBoundary: { code: string; name: string }[];
}

/**
 * The file's bytes as they are (not re-encoded), so that the hash the server records is the file's
 * own: `sha256sum` of the file gives the same.
 */
async function uploadFile(file: File): Promise<Version> {
  const res = await fetch(`/api/operator/boundaries?fileName=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': me()?.csrfToken ?? '' },
    body: await file.text(),
  });
  const body = (await res.json().catch(() => undefined)) as
    (Version & { error?: { code: string; message: string; details?: { path: string; message: string }[] } }) | undefined;
  if (!res.ok)
    throw new ApiError(res.status, body?.error?.code ?? 'HTTP', body?.error?.message ?? `HTTP ${res.status}`, body?.error?.details);
  return body!;
}

/** 行政区划边界 (platform operator, #21): load a boundary file, list its versions, roll back. */
export function BoundariesPanel() {
  const [list, { refetch }] = createResource(() => get<Listing>('/api/operator/boundaries'));
  const [busy, setBusy] = createSignal(false);
  const [problems, setProblems] = createSignal<string[]>([]);
  const upload = async (file: File) => {
    setBusy(true);
    setProblems([]);
    try {
      const v = await uploadFile(file);
      notify('ok', bnd.loaded(v.id, v.added.length, v.replaced.length));
      void refetch();
    } catch (e) {
      // Every bad feature, each with its index and code, as the server named them.
      const details = e instanceof ApiError ? (e.details ?? []).map((d) => d.message) : [];
      setProblems(details.length ? details : [e instanceof Error ? e.message : String(e)]);
    } finally {
      setBusy(false);
    }
  };
  const activate = async (id: number, what: string) => {
    if (await askConfirm(bnd.confirmActivate(what)))
      void runAction(() => post(`/api/operator/boundaries/${id}/activate`), refetch, bnd.activated);
  };
  return (
    <div class="boundaries-panel" data-testid="boundaries-panel">
      <p class="muted">{bnd.intro}</p>
      <div class="toolbar">
        <label class="file-btn">
          {busy() ? bnd.uploading : bnd.upload}
          <input
            type="file"
            accept=".geojson,.json,application/geo+json,application/json"
            disabled={busy()}
            onChange={(e) => {
              const f = e.currentTarget.files?.[0];
              e.currentTarget.value = '';
              if (f) void upload(f);
            }}
          />
        </label>
        <Show when={list()?.active !== null && list() !== undefined}>
          <button type="button" onClick={() => void activate(0, bnd.shipped)}>
            {bnd.useShipped}
          </button>
        </Show>
      </div>
      <Show when={problems().length}>
        <div class="field-error" data-testid="boundary-problems">
          <p>{bnd.refused}</p>
          <ul>
            <For each={problems()}>{(p) => <li>{p}</li>}</For>
          </ul>
        </div>
      </Show>
      <Grid
        rows={list()?.versions}
        head={[bnd.version, bnd.file, bnd.added, bnd.replaced, bnd.areas, bnd.by, bnd.at, bnd.hash, bnd.state, bnd.actions]}
        row={(v) => (
          <tr data-version={v.id}>
            <td>{v.id}</td>
            <td>{v.fileName || '—'}</td>
            <td title={v.added.join(', ')}>{v.added.length}</td>
            <td title={v.replaced.join(', ')}>{v.replaced.length}</td>
            <td>{v.areaCount}</td>
            <td>{v.createdBy}</td>
            <td>{fmtTime(v.createdAt)}</td>
            <td>
              <code title={v.fileHash}>{v.fileHash.slice(0, 12)}</code>
            </td>
            <td>{v.active ? <Badge kind="ok">{bnd.active}</Badge> : ''}</td>
            <td>
              <Show when={!v.active}>
                <button type="button" class="link" onClick={() => void activate(v.id, `${bnd.version} ${v.id}`)}>
                  {bnd.activate}
                </button>
              </Show>
              <a class="link" href={`/api/operator/boundaries/${v.id}/geojson`} download={`boundaries-v${v.id}.geojson`}>
                {bnd.download}
              </a>
            </td>
          </tr>
        )}
      />
      <p class="muted" data-testid="without-boundary">
        {bnd.without}
        {bnd.areaList(list()?.withoutBoundary ?? [])}
      </p>
    </div>
  );
}
