import { createResource, createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { get, post, put, qs } from '../../lib/api.ts';
import { navigate } from '../../lib/router.tsx';
import { can, me } from '../../lib/session.ts';
import { Badge, Empty, fmtTime, Modal, notify, notifyError, Page, Pager } from '../../ui/ui.tsx';
import { askConfirm, askFields } from '../../ui/dialog.tsx';
import { GeoMap } from '../../map/index.ts';
import { CARRIERS } from '../form-model.ts';
import { bt } from '../zh-CN.ts';
import { ApprovalSettingsDialog } from './approval-settings.tsx';

export interface TaskSummary {
  id: string;
  subject: string;
  alertType: string;
  alertTypeLabel: string;
  state: string;
  stateLabel: string;
  startDate: string | null;
  endDate: string | null;
  accountName: string;
  reason: string;
  createdAt: string | null;
  submittedAt: string | null;
  /** People sent to so far (null: nothing known yet). */
  sent?: number | null;
  /** Maker-checker (#21): none, pending, fast_path, approved or rejected. */
  approval?: string;
  approvalLabel?: string;
  fastPath?: boolean;
  /** An exercise (演练, #21). */
  exercise?: boolean;
  approvedBy?: string | null;
  approvedAt?: string | null;
  approvalReason?: string;
  /** This account may approve or reject it (the permission, and not its own task). */
  canApprove?: boolean;
}
/** The form fields the detail shows (the API's form holds more). */
interface DetailForm {
  content?: string;
  texts?: { language: string; content: string }[];
  signature?: string;
  endDate?: string;
  windows?: { start: string; end: string }[];
  frequency?: string;
  minDwellMin?: number;
  rules?: Rule[];
  quota?: Record<string, { total: number; dailyCap: number } | undefined>;
  region?: { parts?: { kind: string; code?: string }[] };
}
interface Detail extends TaskSummary {
  form: DetailForm;
  spec: { region?: { parts?: { kind: string; code?: string }[] } } | null;
  version: number | null;
}
interface Recipient {
  msisdn: string;
  carrierLabel: string;
  state: string;
  stateLabel: string;
  code: string;
  submittedAt: string;
  statusAt: string;
}
type Rule =
  | { attribute: 'gender'; action: string; values: string[] }
  | { attribute: 'age'; action: string; min: number; max: number }
  | { attribute: 'home'; action: string; codes: string[] }
  | { attribute: 'locality'; action: string; value: string }
  | { attribute: 'carrier'; action: string; values: string[] };

/** One crowd rule as a sentence: 保留 性别 女. */
function ruleText(r: Rule): string {
  const a = r.action === 'keep' ? bt.send.keep : bt.send.exclude;
  const what =
    r.attribute === 'gender'
      ? bt.tasks.joinValues(r.values.map((v) => (v === 'f' ? bt.send.female : bt.send.male)))
      : r.attribute === 'age'
        ? bt.tasks.ageRange(r.min, r.max)
        : r.attribute === 'home'
          ? bt.tasks.joinValues(r.codes)
          : r.attribute === 'locality'
            ? r.value === 'local'
              ? bt.send.local
              : bt.send.roaming
            : bt.tasks.joinValues(r.values.map((c) => bt.carriers[c] ?? c));
  return `${a} ${bt.send.attrs[r.attribute] ?? r.attribute} ${what}`;
}
interface ProgressView {
  state: string | null;
  matched: number;
  carriers: Record<string, { sent: number; delivered: number; failed: number }>;
  skipped: Record<string, number>;
  /** Per carrier: queued behind the carrier's rate, the rate over the last minute, when the last goes. */
  queue?: Record<string, { published: number; submitted: number; queued: number; perMinute: number; etaAt: number | null }> | null;
}

/** When the last queued message should go, China time (hh:mm:ss, with the date when not today). */
function etaText(at: number | null | undefined): string {
  if (!at) return '—';
  const china = (ms: number) => new Date(ms + 8 * 3600_000).toISOString();
  const [day, time] = [china(at).slice(0, 10), china(at).slice(11, 19)];
  return day === china(Date.now()).slice(0, 10) ? time : `${day} ${time}`;
}

const STATE_KIND: Record<string, 'ok' | 'warn' | 'err' | 'muted'> = {
  pending_approval: 'warn',
  submitted: 'muted',
  scheduled: 'warn',
  running: 'ok',
  paused: 'warn',
  stopped: 'err',
  completed: 'ok',
  rejected: 'err',
};
const canPause = (s: string) => s === 'submitted' || s === 'scheduled';
const canStop = (s: string) => ['submitted', 'scheduled', 'running', 'paused'].includes(s);

/** 大数据短信-任务: search, export, pause/resume before execution, emergency stop, details with live progress. */
export function TasksPage() {
  const [filter, setFilter] = createSignal({ from: '', to: '', alertType: '', state: '', exercise: '', name: '', page: 1 });
  const [types] = createResource(() =>
    get<{ alertTypes: { value: string; label: string }[] }>('/api/bigdata/options').catch(() => ({ alertTypes: [] })),
  );
  const [list, { refetch }] = createResource(filter, (f) =>
    get<{ total: number; page: number; pageSize: number; items: TaskSummary[] }>(`/api/bigdata/tasks${qs({ ...f })}`),
  );
  const [open, setOpen] = createSignal<string | null>(new URLSearchParams(location.search).get('open'));
  const [settingsOpen, setSettingsOpen] = createSignal(false);
  const act = async (id: string, action: 'pause' | 'resume' | 'stop') => {
    if (action === 'stop' && !(await askConfirm(bt.tasks.confirmStop, { danger: true, okLabel: bt.tasks.stop }))) return;
    try {
      const r = await post<{ stateLabel: string }>(`/api/bigdata/tasks/${id}/${action}`);
      notify('ok', r.stateLabel);
      void refetch();
    } catch (e) {
      notifyError(e);
    }
  };
  const decide = async (id: string, decision: 'approve' | 'reject') => {
    let body: { reason: string } | undefined;
    if (decision === 'approve') {
      if (!(await askConfirm(bt.tasks.approval.confirmApprove, { okLabel: bt.tasks.approval.approve }))) return;
    } else {
      const v = await askFields(
        bt.tasks.approval.rejectTitle,
        [{ name: 'reason', label: bt.tasks.approval.reason, type: 'textarea', value: '', required: true }],
        bt.tasks.approval.rejectHint,
      );
      if (!v) return;
      body = { reason: v.reason ?? '' };
    }
    try {
      await post(`/api/bigdata/tasks/${id}/${decision}`, body);
      notify('ok', decision === 'approve' ? bt.tasks.approval.approved : bt.tasks.approval.rejected);
      void refetch();
    } catch (e) {
      notifyError(e);
    }
  };
  const set = (k: string, v: string) => setFilter({ ...filter(), [k]: v, page: 1 });
  const exportUrl = () => {
    const { page: _p, ...f } = filter();
    return `/api/bigdata/tasks/export${qs(f)}`;
  };
  return (
    <Page title={bt.tasks.title}>
      <div class="toolbar">
        <input type="date" aria-label={bt.tasks.from} value={filter().from} onChange={(e) => set('from', e.currentTarget.value)} />
        <span>—</span>
        <input type="date" aria-label={bt.tasks.to} value={filter().to} onChange={(e) => set('to', e.currentTarget.value)} />
        <select aria-label={bt.tasks.type} value={filter().alertType} onChange={(e) => set('alertType', e.currentTarget.value)}>
          <option value="">{bt.tasks.filterAll(bt.tasks.type)}</option>
          <For each={types()?.alertTypes}>{(t) => <option value={t.value}>{t.label}</option>}</For>
        </select>
        <select aria-label={bt.tasks.state} value={filter().state} onChange={(e) => set('state', e.currentTarget.value)}>
          <option value="">{bt.tasks.filterAll(bt.tasks.state)}</option>
          <For each={['pending_approval', 'submitted', 'scheduled', 'running', 'paused', 'stopped', 'completed', 'rejected']}>
            {(s) => <option value={s}>{STATE_TEXT[s]}</option>}
          </For>
        </select>
        <select aria-label={bt.tasks.exercise} value={filter().exercise} onChange={(e) => set('exercise', e.currentTarget.value)}>
          <option value="">{bt.tasks.filterAll(bt.tasks.exercise)}</option>
          <option value="true">{bt.tasks.exerciseOnly}</option>
          <option value="false">{bt.tasks.realOnly}</option>
        </select>
        <input placeholder={bt.tasks.name} value={filter().name} onChange={(e) => set('name', e.currentTarget.value)} />
        <button type="button" onClick={() => void refetch()}>
          {bt.tasks.search}
        </button>
        <a class="button" href={exportUrl()} download={bt.tasks.exportFile}>
          {bt.tasks.export}
        </a>
        <Show when={me()?.role === 'admin'}>
          <button type="button" data-action="approval-settings" onClick={() => setSettingsOpen(true)}>
            {bt.tasks.approval.settings}
          </button>
        </Show>
      </div>
      <Show when={settingsOpen()}>
        <ApprovalSettingsDialog alertTypes={types()?.alertTypes ?? []} onClose={() => setSettingsOpen(false)} />
      </Show>
      <table class="grid" data-testid="tasks">
        <thead>
          <tr>
            <th>{bt.tasks.subject}</th>
            <th>{bt.tasks.type}</th>
            <th>{bt.tasks.state}</th>
            <th>{bt.tasks.dates}</th>
            <th>{bt.tasks.sent}</th>
            <th>{bt.tasks.createdBy}</th>
            <th>{bt.tasks.submittedAt}</th>
            <th>{bt.tasks.actions}</th>
          </tr>
        </thead>
        <tbody>
          <For each={list()?.items}>
            {(t) => (
              <tr data-task={t.id}>
                <td>{t.subject}</td>
                <td>{t.alertTypeLabel}</td>
                <td>
                  <Badge kind={STATE_KIND[t.state] ?? 'muted'}>{t.stateLabel}</Badge>
                  <Show when={t.fastPath}>
                    {' '}
                    <Badge kind="err">{bt.tasks.approval.fastPath}</Badge>
                  </Show>
                  <Show when={t.exercise}>
                    {' '}
                    <span data-testid="exercise-badge">
                      <Badge kind="warn">{bt.tasks.exercise}</Badge>
                    </span>
                  </Show>
                </td>
                <td>
                  {t.startDate} ~ {t.endDate}
                </td>
                <td data-col="sent">{t.sent ?? '—'}</td>
                <td>{t.accountName}</td>
                <td>{fmtTime(t.submittedAt)}</td>
                <td class="actions">
                  <button type="button" class="link" onClick={() => setOpen(t.id)}>
                    {bt.tasks.detail}
                  </button>
                  <Show when={t.canApprove}>
                    <button type="button" class="link" data-action="approve" onClick={() => void decide(t.id, 'approve')}>
                      {bt.tasks.approval.approve}
                    </button>
                    <button type="button" class="link danger" data-action="reject" onClick={() => void decide(t.id, 'reject')}>
                      {bt.tasks.approval.reject}
                    </button>
                  </Show>
                  <Show when={canPause(t.state)}>
                    <button type="button" class="link" data-action="pause" onClick={() => void act(t.id, 'pause')}>
                      {bt.tasks.pause}
                    </button>
                  </Show>
                  <Show when={t.state === 'paused'}>
                    <button type="button" class="link" data-action="resume" onClick={() => void act(t.id, 'resume')}>
                      {bt.tasks.resume}
                    </button>
                  </Show>
                  <Show when={canStop(t.state)}>
                    <button type="button" class="link danger" data-action="stop" onClick={() => void act(t.id, 'stop')}>
                      {bt.tasks.stop}
                    </button>
                  </Show>
                  <Show when={can('bigdata.send')}>
                    <button type="button" class="link" onClick={() => navigate(`/bigdata/send?from=${t.id}`)}>
                      {bt.tasks.again}
                    </button>
                  </Show>
                </td>
              </tr>
            )}
          </For>
          <Empty when={list()?.items.length === 0} cols={8} />
        </tbody>
      </table>
      <Pager
        page={filter().page}
        pageSize={list()?.pageSize ?? 20}
        total={list()?.total ?? 0}
        onPage={(p) => setFilter({ ...filter(), page: p })}
      />
      <Show when={open()}>{(id) => <TaskDetail id={id()} onClose={() => (setOpen(null), void refetch())} />}</Show>
    </Page>
  );
}

const STATE_TEXT = bt.tasks.states;

/** Details: the task, its live progress per carrier (Server-Sent Events) and the reached people on the map. */
function TaskDetail(props: { id: string; onClose: () => void }) {
  const [task, { refetch: reload }] = createResource(() => get<Detail>(`/api/bigdata/tasks/${props.id}`));
  const update = async (t: Detail) => {
    const v = await askFields(
      bt.tasks.update,
      [
        { name: 'content', label: bt.tasks.content, type: 'textarea', value: t.form.content ?? '', required: true },
        { name: 'endDate', label: bt.tasks.endDate, type: 'date', value: t.form.endDate ?? '', required: true },
      ],
      bt.tasks.updateHint,
    );
    if (!v) return;
    try {
      const r = await put<{ version: number }>(`/api/bigdata/tasks/${props.id}`, { content: v.content, endDate: v.endDate });
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
                {t().approvedBy ? ` · ${bt.tasks.approval.by(t().approvedBy!, fmtTime(t().approvedAt ?? null))}` : ''}
                {t().approvalReason ? ` · ${bt.tasks.labelled(bt.tasks.approval.reason)}${t().approvalReason}` : ''}
              </p>
            </Show>
            <p data-testid="task-content">
              {bt.tasks.signed(t().form.signature ?? '', (t().exercise ? bt.send.exercisePrefix : '') + (t().form.content ?? ''))}
            </p>
            <For each={(t().form.texts ?? []).filter((x) => /^en\b/i.test(x.language))}>
              {(x) => (
                <p data-testid="task-content-en" lang="en">
                  {bt.tasks.labelled(bt.tasks.englishContent)}
                  {bt.tasks.signed(t().form.signature ?? '', (t().exercise ? bt.send.exercisePrefix : '') + x.content)}
                </p>
              )}
            </For>
            <Show when={canStop(t().state) && can('bigdata.send')}>
              <button type="button" data-action="update" onClick={() => void update(t())}>
                {bt.tasks.update}
              </button>
            </Show>
            <h3>{bt.tasks.settings}</h3>
            <table class="grid bd-settings" data-testid="task-settings">
              <tbody>
                <tr>
                  <th>{bt.send.frequency}</th>
                  <td>{t().form.frequency === 'daily' ? bt.send.daily : bt.send.once}</td>
                  <th>{bt.send.minDwell}</th>
                  <td data-field="minDwellMin">{t().form.minDwellMin ?? 0}</td>
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
      <Show when={progress()} fallback={<p class="muted small">{bt.tasks.noProgress}</p>}>
        {(p) => (
          <div data-testid="progress">
            <p>
              {bt.tasks.labelled(bt.tasks.matched)}
              <b>{p().matched}</b>
            </p>
            <table class="grid">
              <thead>
                <tr>
                  <th />
                  <th>{bt.tasks.sent}</th>
                  <th>{bt.tasks.delivered}</th>
                  <th>{bt.tasks.failed}</th>
                  <Show when={p().queue}>
                    <th>{bt.tasks.queued}</th>
                    <th>{bt.tasks.perMinute}</th>
                    <th>{bt.tasks.eta}</th>
                  </Show>
                </tr>
              </thead>
              <tbody>
                <For each={CARRIERS}>
                  {(c) => (
                    <tr>
                      <td>{bt.carriers[c]}</td>
                      <td>{p().carriers[c]?.sent ?? 0}</td>
                      <td>{p().carriers[c]?.delivered ?? 0}</td>
                      <td>{p().carriers[c]?.failed ?? 0}</td>
                      <Show when={p().queue}>
                        {(q) => (
                          <>
                            <td data-col="queued">{q()[c]?.queued ?? 0}</td>
                            <td data-col="rate">{q()[c]?.perMinute ?? 0}</td>
                            <td data-col="eta">{etaText(q()[c]?.etaAt)}</td>
                          </>
                        )}
                      </Show>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
            <p class="small">
              {bt.tasks.labelled(bt.tasks.skipped)}
              {bt.tasks.joinList(
                Object.entries(p().skipped)
                  .filter(([, n]) => n > 0)
                  .map(([r, n]) => `${bt.tasks.reasons[r] ?? r} ${n}`),
              )}
            </p>
          </div>
        )}
      </Show>
      <h3>{bt.tasks.reached}</h3>
      <div class="bd-detail-map" ref={mapEl} />
      <Recipients id={props.id} />
      <WhyLookup id={props.id} />
    </Modal>
  );
}

/** 查看明细: who was sent the task, number masked, carrier, status and time, a page at a time. */
function Recipients(props: { id: string }) {
  const [page, setPage] = createSignal(1);
  const [rows, { refetch }] = createResource(page, (p) =>
    get<{ total: number; page: number; pageSize: number; logAvailable: boolean; items: Recipient[] }>(
      `/api/bigdata/tasks/${props.id}/recipients${qs({ page: p, pageSize: 10 })}`,
    ),
  );
  return (
    <section data-testid="recipients">
      <h3>
        {bt.tasks.recipients}{' '}
        <button type="button" class="link" onClick={() => void refetch()}>
          {bt.tasks.refresh}
        </button>
      </h3>
      <Show when={rows()?.logAvailable !== false} fallback={<p class="muted small">{bt.tasks.noLog}</p>}>
        <table class="grid">
          <thead>
            <tr>
              <th>{bt.tasks.msisdn}</th>
              <th>{bt.tasks.carrier}</th>
              <th>{bt.tasks.state}</th>
              <th>{bt.tasks.sentAt}</th>
              <th>{bt.tasks.statusAt}</th>
            </tr>
          </thead>
          <tbody>
            <For each={rows()?.items}>
              {(r) => (
                <tr data-state={r.state}>
                  <td>{r.msisdn}</td>
                  <td>{r.carrierLabel}</td>
                  <td>
                    {r.stateLabel}
                    {r.code ? bt.tasks.inParens(r.code) : ''}
                  </td>
                  <td>{r.submittedAt}</td>
                  <td>{r.statusAt}</td>
                </tr>
              )}
            </For>
            <Empty when={rows()?.items.length === 0} cols={5} />
          </tbody>
        </table>
        <Pager page={page()} pageSize={rows()?.pageSize ?? 10} total={rows()?.total ?? 0} onPage={setPage} />
      </Show>
    </section>
  );
}

/** "Why did this number not get the task": alerting's answer, the number masked. */
function WhyLookup(props: { id: string }) {
  const [number, setNumber] = createSignal('');
  const [answer, setAnswer] = createSignal<{ msisdn: string; reasonLabel: string; sentAt: string | null } | null>(null);
  const ask = async (e: Event) => {
    e.preventDefault();
    try {
      setAnswer(await get(`/api/bigdata/tasks/${props.id}/why${qs({ msisdn: number() })}`));
    } catch (err) {
      setAnswer(null);
      notifyError(err);
    }
  };
  return (
    <form class="bd-why" data-testid="why" onSubmit={ask}>
      <h3>{bt.tasks.why}</h3>
      <input value={number()} placeholder={bt.tasks.whyPlaceholder} onInput={(e) => setNumber(e.currentTarget.value)} />
      <button type="submit">{bt.tasks.whyAsk}</button>
      <Show when={answer()}>
        {(a) => (
          <p class="small" data-testid="why-answer">
            {bt.tasks.whyAnswer(a().msisdn, a().reasonLabel)}
            {a().sentAt ? bt.tasks.inParens(fmtTime(a().sentAt!)) : ''}
          </p>
        )}
      </Show>
    </form>
  );
}
