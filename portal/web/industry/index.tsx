import { For, Show, type Component } from 'solid-js';
import { Dynamic } from 'solid-js/web';
import { Link, path } from '../lib/router.tsx';
import { can } from '../lib/session.ts';
import { BookPage } from './books-page.tsx';
import { InboxPage } from './inbox-page.tsx';
import { DraftsPage, SchedulesPage } from './mail-pages.tsx';
import { StatsPage } from './stats-page.tsx';
import { TemplatesPage } from './templates-page.tsx';
import { SendPage } from './send-page.tsx';
import { SentPage } from './sent-page.tsx';
import { ti } from './zh-CN.ts';
import './industry.css';

export interface IndustryPage {
  path: string;
  /** Menu label (zh-CN). */
  label: string;
  /** The permission that shows the page. */
  feature: string;
  component: Component;
}

/** The 行业短信 pages, in the order of the original product's left menu. */
export const INDUSTRY_PAGES: IndustryPage[] = [
  { path: '/industry/send', label: ti.nav.send, feature: 'sms.send', component: SendPage },
  { path: '/industry/sent', label: ti.nav.sent, feature: 'sms.sent', component: SentPage },
  { path: '/industry/contacts', label: ti.nav.personal, feature: 'contacts', component: () => <BookPage book="personal" /> },
  { path: '/industry/enterprise-contacts', label: ti.nav.enterprise, feature: 'contacts', component: () => <BookPage book="enterprise" /> },
  { path: '/industry/inbox', label: ti.nav.inbox, feature: 'inbox', component: InboxPage },
  { path: '/industry/drafts', label: ti.nav.drafts, feature: 'sms.send', component: DraftsPage },
  { path: '/industry/schedules', label: ti.nav.schedules, feature: 'sms.send', component: SchedulesPage },
  { path: '/industry/templates', label: ti.nav.templates, feature: 'templates', component: TemplatesPage },
  { path: '/industry/stats', label: ti.nav.stats, feature: 'stats', component: StatsPage },
];

/**
 * The 行业短信 module: a left menu of the pages the caller may use, and the current page. Mount it
 * once at `/industry` (the top bar's 行业短信 link); `/industry` itself opens the first allowed page.
 */
export function IndustryShell() {
  const allowed = () => INDUSTRY_PAGES.filter((p) => can(p.feature));
  const current = () => allowed().find((p) => path() === p.path || path().startsWith(p.path + '/')) ?? allowed()[0];
  return (
    <div class="industry">
      <nav class="industry-nav" aria-label={ti.title}>
        <For each={allowed()}>{(p) => <Link href={p.path}>{p.label}</Link>}</For>
      </nav>
      <div class="industry-main">
        <Show when={current()} fallback={<p class="muted">{ti.noFeature}</p>}>
          {/* Keyed by path so that each page starts fresh (its URL parameters are read on mount). */}
          <Show when={current()!.path} keyed>
            {(_p: string) => <Dynamic component={current()!.component} />}
          </Show>
        </Show>
      </div>
    </div>
  );
}

/** The one route to add to portal/web/routes.tsx ROUTES. */
export const INDUSTRY_ROUTE = { path: '/industry', component: IndustryShell };
