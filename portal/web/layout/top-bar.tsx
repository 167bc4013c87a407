import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { post } from '../lib/api.ts';
import { Link, navigate } from '../lib/router.tsx';
import { can, isOperator, me, setMe } from '../lib/session.ts';
import { t } from '../i18n/zh-CN.ts';
import { pendingApprovals, watchPendingApprovals } from '../bigdata/tasks/pending-approvals.ts';
import { bt } from '../bigdata/zh-CN.ts';

interface Item {
  href: string;
  label: string;
  show: () => boolean;
}

const MAIN: Item[] = [
  { href: '/', label: t.menu.home, show: () => can('home') },
  { href: '/industry', label: t.menu.industry, show: () => ['sms.send', 'sms.sent', 'contacts', 'inbox', 'templates', 'stats'].some(can) },
  { href: '/bigdata', label: t.menu.bigdata, show: () => can('bigdata.send') || can('bigdata.tasks') },
  { href: '/insight', label: t.menu.insight, show: () => can('insight') },
  { href: '/accounts', label: t.menu.accounts, show: () => can('accounts') },
  { href: '/departments', label: t.menu.departments, show: () => can('departments') },
  { href: '/signatures', label: t.menu.signatures, show: () => can('signatures') },
  { href: '/review', label: t.menu.review, show: isOperator },
];

const MORE: Item[] = [
  { href: '/settings', label: t.menu.platform, show: () => can('settings.logs') || can('settings.platform') },
  { href: '/api-docs', label: t.menu.apiDocs, show: () => !!me() },
  { href: '/manual', label: t.menu.manual, show: () => !!me() },
  { href: '/account-settings', label: t.menu.accountSettings, show: () => !!me() },
  { href: '/messages', label: t.menu.messages, show: () => !!me() },
  { href: '/feedback', label: t.menu.feedback, show: () => !!me()?.enterpriseId },
  { href: '/status', label: t.menu.status, show: () => true },
];

/** The top menu bar of the original product: modules on the left, 更多设置 and the user on the right. */
export function TopBar(props: { logoUrl?: string | null; platformName: string }) {
  const [open, setOpen] = createSignal(false);
  // A checker sees from any page that a big-data task waits for their approval (#21, #23 walk).
  onMount(() => can('bigdata.approve') && onCleanup(watchPendingApprovals()));
  const logout = async () => {
    await post('/api/auth/logout').catch(() => undefined);
    setMe(null);
    navigate('/login');
  };
  return (
    <header class="topbar">
      <Link href="/" class="brand">
        <Show when={props.logoUrl} fallback={<span class="logo-text">{props.platformName}</span>}>
          <img src={props.logoUrl!} alt={props.platformName} class="logo-img" />
        </Show>
      </Link>
      <nav class="menu" aria-label={t.menu.mainMenu}>
        <For each={MAIN.filter((i) => i.show())}>
          {(i) => (
            <Link href={i.href}>
              {i.label}
              <Show when={i.href === '/bigdata' && pendingApprovals() > 0}>
                <span class="menu-count" data-testid="top-pending-approvals" title={bt.menu.pendingApprovals(pendingApprovals())}>
                  {pendingApprovals()}
                </span>
              </Show>
            </Link>
          )}
        </For>
      </nav>
      <div class="right">
        <div class="more" onMouseLeave={() => setOpen(false)}>
          <button type="button" class="more-btn" onClick={() => setOpen(!open())} aria-expanded={open()}>
            {t.menu.more} ▾
          </button>
          <Show when={open()}>
            <div class="dropdown" onClick={() => setOpen(false)}>
              <For each={MORE.filter((i) => i.show())}>{(i) => <Link href={i.href}>{i.label}</Link>}</For>
            </div>
          </Show>
        </div>
        <span class="who" title={me()?.enterpriseName ?? ''}>
          {t.fmt.withParens(me()?.displayName || me()?.name || '', me()?.roleLabel ?? '')}
        </span>
        <button type="button" class="link" onClick={() => void logout()}>
          {t.menu.logout}
        </button>
      </div>
    </header>
  );
}
