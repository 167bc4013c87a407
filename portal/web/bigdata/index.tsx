import { Match, onCleanup, onMount, Show, Switch, type Component } from 'solid-js';
import { Link, path } from '../lib/router.tsx';
import { can } from '../lib/session.ts';
import { SendPage } from './send/send-page.tsx';
import { DraftsPage } from './tasks/drafts-page.tsx';
import { TasksPage } from './tasks/tasks-page.tsx';
import { CapPage } from './cap/cap-page.tsx';
import { capText } from './cap/zh-CN.ts';
import { pendingApprovals, watchPendingApprovals } from './tasks/pending-approvals.ts';
import { bt } from './zh-CN.ts';
import './bigdata.css';

/** 大数据短信: the function menu on the left (发短信 / 任务 / 草稿箱 / 导入 CAP 预警), the page beside it. */
export function BigdataPage() {
  const sub = () => path().replace(/^\/bigdata\/?/, '') || (can('bigdata.send') ? 'send' : 'tasks');
  // A checker sees that something waits for them, on whichever console page they are.
  onMount(() => can('bigdata.approve') && onCleanup(watchPendingApprovals()));
  return (
    <div class="bd-shell">
      <nav class="bd-menu" aria-label={bt.menu.label}>
        {can('bigdata.send') && <Link href="/bigdata/send">{bt.menu.send}</Link>}
        {can('bigdata.tasks') && (
          <Link href="/bigdata/tasks">
            {bt.menu.tasks}
            <Show when={pendingApprovals() > 0}>
              <span class="bd-menu-count" data-testid="pending-approvals" title={bt.menu.pendingApprovals(pendingApprovals())}>
                {pendingApprovals()}
              </span>
            </Show>
          </Link>
        )}
        {can('bigdata.send') && <Link href="/bigdata/drafts">{bt.menu.drafts}</Link>}
        {can('bigdata.send') && <Link href="/bigdata/cap">{capText.menu}</Link>}
      </nav>
      <div class="bd-page">
        <Switch fallback={<p class="muted">{bt.menu.forbidden}</p>}>
          <Match when={sub().startsWith('send') && can('bigdata.send')}>
            <SendPage />
          </Match>
          <Match when={sub().startsWith('tasks') && can('bigdata.tasks')}>
            <TasksPage />
          </Match>
          <Match when={sub().startsWith('drafts') && can('bigdata.send')}>
            <DraftsPage />
          </Match>
          <Match when={sub().startsWith('cap') && can('bigdata.send')}>
            <CapPage />
          </Match>
        </Switch>
      </div>
    </div>
  );
}

/** Routes for the SPA (`ROUTES` in web/routes.tsx): one prefix, the shell picks the sub page. */
export const BIGDATA_PAGES: { path: string; component: Component; label: string; features: string[] }[] = [
  { path: '/bigdata', component: BigdataPage, label: bt.menu.bigdata, features: ['bigdata.send', 'bigdata.tasks'] },
];

export { SendPage, TasksPage, DraftsPage, CapPage };
