import { createResource, createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { get, put } from '../../lib/api.ts';
import { can } from '../../lib/session.ts';
import { Badge, Modal, notify, notifyError } from '../../ui/ui.tsx';
import { askFields } from '../../ui/dialog.tsx';
import { GeoMap } from '../../map/index.ts';
import { CARRIERS } from '../form-model.ts';
import { bt } from '../zh-CN.ts';
import { canStop, chinaTime, hysteresisText, regionText, ruleText, STATE_KIND, type Detail, type ProgressView } from './task-model.ts';
import { loadAreas } from '../send/area-picker.tsx';
import { capText } from '../cap/zh-CN.ts';
import { ht } from '../hysteresis/zh-CN.ts';
import { ProgressTable } from './task-progress.tsx';
import { Recipients } from './task-recipients.tsx';
import { WhyLookup } from './why-lookup.tsx';
import { CheckInPanel } from '../checkins/checkin-panel.tsx';

/** Details: the task, its live progress per carrier (Server-Sent Events) and the reached people on the map. */
export function TaskDetail(props: {
  id: string;
  onClose: () => void;
  /** Opened to decide on it (the list's 审批): the checker reads the task here, then approves or rejects. */
  review?: { onApprove: () => Promise<boolean>; onReject: () => Promise<boolean> };
}) {
  const [task, { refetch: reload }] = createResource(() => get<Detail>(`/api/bigdata/tasks/${props.id}`));
  const [areaNames] = createResource(async () => new Map((await loadAreas()).map((a) => [a.code, a.name])));
  const decided = async (decide: () => Promise<boolean>) => {
    if (await decide()) void reload();
  };
  const update = async (t: Detail) => {
    // The English text changes with the Chinese one: a foreigner must not go on getting the old news.
    const texts = t.form.texts ?? [];
    const en = texts.find((x) => /^en\b/i.test(x.language));
    const v = await askFields(
      bt.tasks.update,
      [
        { name: 'content', label: bt.tasks.content, type: 'textarea', value: t.form.content ?? '', required: true },
        { name: 'english', label: bt.send.english, type: 'textarea', value: en?.content ?? '' },
        { name: 'endDate', label: bt.tasks.endDate, type: 'date', value: t.form.endDate ?? '', required: true },
      ],
      bt.tasks.updateHint,
    );
    if (!v) return;
    const english = (v.english ?? '').trim();
    const others = texts.filter((x) => x !== en);
    const changed = english !== (en?.content ?? '').trim();
    const newTexts = english ? [{ ...(en ?? { language: 'en-US' }), content: english }, ...others] : others;
    try {
      const r = await put<{ version: number }>(`/api/bigdata/tasks/${props.id}`, {
        content: v.content,
        endDate: v.endDate,
        ...(changed ? { texts: newTexts } : {}),
      });
      notify('ok', bt.tasks.updated(r.version));
      void reload();
    } catch (e) {
      notifyError(e);
    }
  };
  const [progress, setProgress] = createSignal<ProgressView | null>(null);
  let mapEl!: HTMLDivElement;
  let map: GeoMap | undefined;
  onMount(() => {
    const es = new EventSource(`/api/bigdata/tasks/${props.id}/progress`);
    es.addEventListener('state', (e) => {
      const d = JSON.parse((e as MessageEvent).data) as { progress: ProgressView | null };
      if (d.progress) setProgress(d.progress);
    });
    es.addEventListener('progress', (e) => {
      const p = JSON.parse((e as MessageEvent).data) as ProgressView & { at: number | null };
      if (p.at) setProgress(p);
    });
    map = new GeoMap(mapEl, { zoom: 9 });
    const refreshCells = () =>
      get<{ cells: { h3: string; count: { value: number | null } }[] }>(
        `/api/bigdata/tasks/${props.id}/reached?zoom=${Math.round(map!.map.getZoom())}`,
      )
        .then((h) => map!.setHexagons(h.cells.map((c) => ({ h3: c.h3, count: c.count.value }))))
        .catch(() => undefined);
    map.on('ready', () => void refreshCells());
    map.on('viewport', () => void refreshCells());
    const timer = setInterval(() => void refreshCells(), 10_000);
    onCleanup(() => (es.close(), clearInterval(timer), map?.destroy()));
  });
  const showRegion = (t: Detail) => {
    const parts = (t.spec?.region?.parts ?? t.form.region?.parts ?? []) as { kind: string; code?: string }[];
    void map?.setHighlightAreas(parts.filter((p) => p.kind === 'admin').map((p) => p.code!));
    map?.setOverlayParts(parts.filter((p) => p.kind !== 'admin') as never);
    // The task's whole region in view, once the map can move.
    const fit = () => void map?.fitRegion(parts as never);
    if (map?.ready) fit();
    else map?.on('ready', fit);
    return '';
  };
  return (
    <Modal title={bt.tasks.detail} onClose={props.onClose} wide>
      <Show when={task()}>
        {(t) => (
          <div class="bd-detail" data-testid="task-detail">
            {showRegion(t())}
            <p>
              <b>{t().subject}</b> · {t().alertTypeLabel} · <Badge kind={STATE_KIND[t().state] ?? 'muted'}>{t().stateLabel}</Badge>
              <Show when={t().exercise}>
                {' '}
                <span data-testid="detail-exercise-badge" title={bt.tasks.exerciseNote}>
                  <Badge kind="warn">{bt.tasks.exercise}</Badge>
                </span>
              </Show>
            </p>
            <p class="muted small">
              {t().startDate} ~ {t().endDate} · {bt.tasks.windowsText(t().form.windows ?? [])}
            </p>
            <Show when={t().approval && t().approval !== 'none'}>
              <p class="small" data-testid="task-approval">
                {bt.tasks.labelled(bt.tasks.approval.record)}
                {t().approvalLabel}
                {t().fastPath && t().approval !== 'fast_path' ? bt.tasks.inParens(bt.tasks.approval.fastPath) : ''}
                {t().approvedBy ? ` · ${bt.tasks.approval.by(t().approvedBy!, chinaTime(t().approvedAt))}` : ''}
                {t().approvalReason ? ` · ${bt.tasks.labelled(bt.tasks.approval.reason)}${t().approvalReason}` : ''}
              </p>
            </Show>
            <Show when={props.review && t().canApprove}>
              <div class="bd-review" data-testid="approval-review">
                <p class="small">{bt.tasks.approval.reviewHint}</p>
                <button type="button" class="danger" data-action="review-reject" onClick={() => void decided(props.review!.onReject)}>
                  {bt.tasks.approval.reject}
                </button>{' '}
                <button type="button" class="primary" data-action="review-approve" onClick={() => void decided(props.review!.onApprove)}>
                  {bt.tasks.approval.approveNow}
                </button>
              </div>
            </Show>
            <p data-testid="task-content">
              {bt.tasks.signed(t().form.signature ?? '', (t().exercise ? bt.send.exercisePrefix : '') + (t().form.content ?? ''))}
            </p>
            <For each={(t().form.texts ?? []).filter((x) => /^en\b/i.test(x.language))}>
              {(x) => (
                <p data-testid="task-content-en" lang="en">
                  {bt.tasks.labelled(bt.tasks.englishContent)}
                  {bt.tasks.signed(t().form.signature ?? '', (t().exercise ? bt.send.exercisePrefixEn : '') + x.content)}
                </p>
              )}
            </For>
            <div class="bd-detail-actions">
              <Show when={canStop(t().state) && can('bigdata.send')}>
                <button type="button" data-action="update" onClick={() => void update(t())}>
                  {bt.tasks.update}
                </button>
              </Show>
              <a
                class="button"
                data-action="export-cap"
                href={`/api/bigdata/tasks/${encodeURIComponent(props.id)}/cap`}
                download={`${props.id}.cap.xml`}
                title={capText.exportHint}
              >
                {capText.export}
              </a>
            </div>
            <h3>{bt.tasks.settings}</h3>
            <table class="grid bd-settings" data-testid="task-settings">
              <tbody>
                <tr>
                  <th>{bt.tasks.region}</th>
                  <td colSpan={3} data-field="region">
                    {regionText(t().spec?.region?.parts ?? t().form.region?.parts ?? [], (code) => areaNames()?.get(code))}
                  </td>
                </tr>
                <tr>
                  <th>{bt.send.frequency}</th>
                  <td>{t().form.frequency === 'daily' ? bt.send.daily : bt.send.once}</td>
                  <th>{bt.send.minDwell}</th>
                  <td data-field="minDwellMin">{t().form.minDwellMin ?? 0}</td>
                </tr>
                <tr>
                  <th>{ht.legend}</th>
                  <td colSpan={3} data-field="hysteresis">
                    {hysteresisText(t().form.hysteresis)}
                  </td>
                </tr>
                <tr>
                  <th>{bt.send.rules}</th>
                  <td colSpan={3} data-field="rules">
                    {bt.tasks.joinRules((t().form.rules ?? []).map(ruleText))}
                  </td>
                </tr>
              </tbody>
            </table>
            <table class="grid bd-settings" data-testid="task-quota">
              <thead>
                <tr>
                  <th />
                  <th>{bt.send.total}</th>
                  <th>{bt.send.dailyCap}</th>
                </tr>
              </thead>
              <tbody>
                <For each={CARRIERS}>
                  {(c) => (
                    <tr data-carrier={c}>
                      <td>{bt.carriers[c]}</td>
                      <td>{t().form.quota?.[c]?.total ?? '—'}</td>
                      <td>{t().form.quota?.[c]?.dailyCap ?? '—'}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Show>
      <h3>{bt.tasks.progress}</h3>
      <ProgressTable progress={progress()} state={task()?.state} />
      <h3>{bt.tasks.reached}</h3>
      <div class="bd-detail-map" ref={mapEl} />
      <Recipients id={props.id} />
      <WhyLookup id={props.id} />
      <CheckInPanel taskId={props.id} />
    </Modal>
  );
}
