import type { Component } from 'solid-js';
import { StatusPage } from './status/status-page.tsx';
import { HomePage } from './home/home-page.tsx';
import { AccountsPage } from './accounts/accounts-page.tsx';
import { DepartmentsPage } from './departments/departments-page.tsx';
import { SignaturesPage } from './signatures/signatures-page.tsx';
import { SettingsPage } from './settings/settings-page.tsx';
import { AccountSettingsPage } from './account-settings/account-settings-page.tsx';
import { MessagesPage } from './messages/messages-page.tsx';
import { FeedbackPage } from './feedback/feedback-page.tsx';
import { ApiDocsPage } from './api-docs/api-docs-page.tsx';
import { ReviewPage } from './review/review-page.tsx';
import { ManualPage } from './manual/manual-page.tsx';
import { can, isOperator } from './lib/session.ts';
import { INDUSTRY_ROUTE } from './industry/index.tsx';
import { BIGDATA_PAGES } from './bigdata/index.tsx';
import { INSIGHT_PAGES } from './insight/index.tsx';

export interface RouteDef {
  path: string;
  exact?: boolean;
  component: Component;
  /** Shown only when this holds (the server checks again on every call). */
  allowed?: () => boolean;
}

/** Page paths → components; a feature folder adds its pages here. */
export const ROUTES: RouteDef[] = [
  { path: '/', exact: true, component: HomePage, allowed: () => can('home') },
  { path: '/status', component: StatusPage },
  { path: '/accounts', component: AccountsPage, allowed: () => can('accounts') },
  { path: '/departments', component: DepartmentsPage, allowed: () => can('departments') },
  { path: '/signatures', component: SignaturesPage, allowed: () => can('signatures') },
  { path: '/settings', component: SettingsPage, allowed: () => can('settings.logs') || can('settings.platform') },
  { path: '/account-settings', component: AccountSettingsPage },
  { path: '/messages', component: MessagesPage },
  { path: '/feedback', component: FeedbackPage },
  { path: '/api-docs', component: ApiDocsPage },
  { path: '/manual', component: ManualPage },
  { path: '/review', component: ReviewPage, allowed: isOperator },
  { ...INDUSTRY_ROUTE, allowed: () => ['sms.send', 'sms.sent', 'contacts', 'inbox', 'templates', 'stats'].some(can) },
  ...[...BIGDATA_PAGES, ...INSIGHT_PAGES].map((p) => ({ path: p.path, component: p.component, allowed: () => p.features.some(can) })),
];
