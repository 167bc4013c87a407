/**
 * Industry SMS (行业短信) API, one folder per feature, each with its routes, queries and tests:
 *
 * - `send/`: 发短信 — options, counting, checking and recording a send, recipients from numbers,
 *   groups and uploads
 * - `uploads/`: batch and mail-merge files (parse, check, reports, templates)
 * - `imports/`: the jobs that read uploads and address-book imports, shared by instances
 * - `books/`: personal and enterprise address books (groups, contacts, import, export)
 * - `sent/`: sent list, scheduled sends, drafts
 * - `statistics/`, `templates/`, `inbox/` (replies)
 * - `dispatch/`: the background work — scheduled sends coming due, publishing queued sends to
 *   SMS_JOBS, the reply consumer
 *
 * Shared by several: `scope.ts` (who sees whose data), `schemas.ts`, `send-log.ts` (messaging's
 * send log in ClickHouse). Other parts of the portal import from this file.
 */
import { bookFilesRoutes } from './books/files-routes.ts';
import { bookGroupsRoutes } from './books/groups-routes.ts';
import { contactsRoutes } from './books/routes.ts';
import { importsRoutes } from './imports/routes.ts';
import { inboxRoutes } from './inbox/routes.ts';
import { sendRoutes } from './send/routes.ts';
import { draftsRoutes } from './sent/drafts-routes.ts';
import { sentRoutes } from './sent/routes.ts';
import { schedulesRoutes } from './sent/schedules-routes.ts';
import { statsRoutes } from './statistics/routes.ts';
import { templatesRoutes } from './templates/routes.ts';
import { uploadsRoutes } from './uploads/routes.ts';

export const industryRoutes = [
  sendRoutes,
  uploadsRoutes,
  sentRoutes,
  schedulesRoutes,
  draftsRoutes,
  bookGroupsRoutes,
  contactsRoutes,
  bookFilesRoutes,
  importsRoutes,
  templatesRoutes,
  inboxRoutes,
  statsRoutes,
];

export { startIndustry, natsJobPublisher, type IndustryOptions, type JobPublisher, type RunningIndustry } from './dispatch/runtime.ts';
export { importJobsAcrossInstances, startImportJobs, type RunningImportJobs } from './imports/jobs.ts';
export { sendStatus, type SendStatus } from './sent/queries.ts';
export { failedUnits, foldState, SEND_LOG_TABLE, type RecipientState } from './send-log.ts';
