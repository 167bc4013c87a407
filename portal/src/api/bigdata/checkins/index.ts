/**
 * 回复报平安 (#21 "People answer back"): an alert task may ask for answers; its own reply extension,
 * answers matched to the task and the person, counts per answer and area, the help list.
 */
export { checkInRoutes } from './routes.ts';
export { startCheckIns, attachCheckIn, followEndDate, checkInRuntime, type CheckInRuntime, type CheckInOptions } from './runtime.ts';
