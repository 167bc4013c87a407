/**
 * Industry SMS (行业短信) API: sends of every mode, address books, sent list, inbox, drafts, scheduled
 * outbox, templates, statistics. Add `...industryRoutes` to the portal's API_ROUTES and call
 * `startIndustry(deps, { nc })` once the portal's deps exist (dispatcher, scheduler, reply consumer).
 */
import { contactsRoutes } from './contacts-routes.ts';
import { inboxRoutes } from './inbox-routes.ts';
import { sendRoutes } from './send-routes.ts';
import { sentRoutes } from './sent-routes.ts';
import { statsRoutes } from './stats-routes.ts';
import { templatesRoutes } from './templates-routes.ts';

export const industryRoutes = [sendRoutes, sentRoutes, contactsRoutes, templatesRoutes, inboxRoutes, statsRoutes];

export { startIndustry, natsJobPublisher, type IndustryOptions, type JobPublisher, type RunningIndustry } from './runtime.ts';
