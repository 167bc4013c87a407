/** @deprecated moved to `imports/jobs.ts`; import from the front door `api/industry/index.ts` (kept for app.ts and portal.ts until they do). */
export { importJobsAcrossInstances, startImportJobs, type RunningImportJobs } from './imports/jobs.ts';
