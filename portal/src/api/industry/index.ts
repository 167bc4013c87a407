/**
 * Industry SMS (行业短信) API: sends of every mode, address books, sent list, inbox, drafts, scheduled
 * outbox, templates, statistics. Add `...industryRoutes` to the portal's API_ROUTES and call
 * `startIndustry(deps, { nc })` once the portal's deps exist (dispatcher, scheduler, reply consumer).
 */
import { sendRoutes } from './send-routes.ts';

export const industryRoutes = [sendRoutes];

export { startIndustry, natsJobPublisher, type IndustryOptions, type JobPublisher, type RunningIndustry } from './runtime.ts';
export { INDUSTRY_ERRORS, IndustryError } from './errors.ts';
