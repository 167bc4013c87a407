import { createResource, createSignal, For, Show } from 'solid-js';
import { get, post, qs } from '../../lib/api.ts';
import { navigate } from '../../lib/router.tsx';
import { can, me } from '../../lib/session.ts';
import { Badge, Empty, notify, notifyError, Page, Pager } from '../../ui/ui.tsx';
import { askConfirm, askFields } from '../../ui/dialog.tsx';
import { bt } from '../zh-CN.ts';
import { ApprovalSettingsDialog } from './approval-settings.tsx';
import { refreshPendingApprovals } from './pending-approvals.ts';
import { TaskDetail } from './task-detail.tsx';
import { canPause, canStop, chinaTime, STATE_KIND, type TaskSummary } from './task-model.ts';

const STATE_TEXT = bt.tasks.states;

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
  /** Opened by 审批: the detail with the decision beside it, so the checker sees what they approve. */
  const [reviewing, setReviewing] = createSignal(false);
  const review = (id: string) => {
    setReviewing(true);
    setOpen(id);
  };
  const decide = async (id: string, decision: 'approve' | 'reject', subject?: string): Promise<boolean> => {
    let body: { reason: string } | undefined;
    if (decision === 'approve') {
      const ask = subject ? bt.tasks.approval.confirmApproveOf(subject) : bt.tasks.approval.confirmApprove;
      if (!(await askConfirm(ask, { okLabel: bt.tasks.approval.approve }))) return false;
    } else {
      const v = await askFields(
        bt.tasks.approval.rejectTitle,
        [{ name: 'reason', label: bt.tasks.approval.reason, type: 'textarea', value: '', required: true }],
        bt.tasks.approval.rejectHint,
      );
      if (!v) return false;
      body = { reason: v.reason ?? '' };
    }
    try {
      await post(`/api/bigdata/tasks/${id}/${decision}`, body);
      notify('ok', decision === 'approve' ? bt.tasks.approval.approved : bt.tasks.approval.rejected);
      void refetch();
      void refreshPendingApprovals();
      return true;
    } catch (e) {
      notifyError(e);
      return false;
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
                <td data-col="submittedAt">{chinaTime(t.submittedAt)}</td>
                <td class="actions">
                  <button type="button" class="link" onClick={() => setOpen(t.id)}>
                    {bt.tasks.detail}
                  </button>
                  <Show when={t.canApprove}>
                    <button type="button" class="link" data-action="approve" onClick={() => review(t.id)}>
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
      <Show when={open()}>
        {(id) => (
          <TaskDetail
            id={id()}
            onClose={() => (setOpen(null), setReviewing(false), void refetch())}
            review={
              reviewing()
                ? {
                    onApprove: () => decide(id(), 'approve', list()?.items.find((x) => x.id === id())?.subject),
                    onReject: () => decide(id(), 'reject'),
                  }
                : undefined
            }
          />
        )}
      </Show>
    </Page>
  );
}
