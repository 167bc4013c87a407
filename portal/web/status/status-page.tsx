import { createResource, For, onCleanup, Show } from 'solid-js';
import { get } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Badge, Page, fmtTime } from '../ui/ui.tsx';
import type { Probe } from '../../src/api/status/probes.ts';

interface SystemStatus {
  ok: boolean;
  at: string;
  servers: Probe[];
  services: Probe[];
}

const uptime = (s?: number) =>
  s === undefined
    ? '—'
    : s < 120
      ? t.status.seconds(s)
      : s < 7200
        ? t.status.minutes(Math.round(s / 60))
        : t.status.hours((s / 3600).toFixed(1));

function ProbeTable(props: { title: string; rows: Probe[] }) {
  return (
    <div class="card">
      <h2>{props.title}</h2>
      <table class="grid status-table">
        <thead>
          <tr>
            <th>{t.status.name}</th>
            <th>{t.common.status}</th>
            <th>{t.status.version}</th>
            <th>{t.status.latency}</th>
            <th>{t.status.uptime}</th>
            <th>{t.status.detail}</th>
          </tr>
        </thead>
        <tbody>
          <For
            each={props.rows}
            fallback={
              <tr>
                <td colspan={6} class="empty">
                  {t.app.none}
                </td>
              </tr>
            }
          >
            {(p) => (
              <tr data-probe={p.name} data-ok={String(p.ok)}>
                <td>
                  <strong>{t.status.names[p.name] ?? p.name}</strong>
                  <Show when={p.url}>
                    <div class="muted small">{p.url}</div>
                  </Show>
                </td>
                <td>{p.ok ? <Badge kind="ok">{t.status.up}</Badge> : <Badge kind="err">{t.status.down}</Badge>}</td>
                <td>{p.version ?? '—'}</td>
                <td>{p.latencyMs === undefined ? '—' : `${p.latencyMs} ms`}</td>
                <td>{uptime(p.uptimeS)}</td>
                <td class="small">
                  {p.detail ?? ''}
                  <Show when={p.checks}>
                    <div>
                      <For each={Object.entries(p.checks ?? {})}>
                        {([n, c]) => (
                          <span class={`check ${c.ok ? 'ok' : 'err'}`} title={c.detail}>
                            {n}
                          </span>
                        )}
                      </For>
                    </div>
                  </Show>
                </td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </div>
  );
}

/** 系统状态: every server and service, refreshed every 10 s; visible without login. */
export function StatusPage() {
  const [status, { refetch }] = createResource(() => get<SystemStatus>('/api/status'));
  const timer = setInterval(() => void refetch(), 10_000);
  onCleanup(() => clearInterval(timer));
  return (
    <Page
      title={t.status.title}
      actions={
        <button type="button" onClick={() => void refetch()}>
          {t.status.refresh}
        </button>
      }
    >
      <Show when={status()} fallback={<p>{t.app.loading}</p>}>
        {(s) => (
          <>
            <p class="status-summary">
              {s().ok ? <Badge kind="ok">{t.status.allOk}</Badge> : <Badge kind="err">{t.status.someDown}</Badge>}
              <span class="muted"> {t.fmt.labelled(t.status.at, fmtTime(s().at))}</span>
            </p>
            <ProbeTable title={t.status.servers} rows={s().servers} />
            <ProbeTable title={t.status.services} rows={s().services} />
          </>
        )}
      </Show>
    </Page>
  );
}
