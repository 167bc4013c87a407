import { sendRoutes } from './send-routes.ts';
import { taskRoutes } from './task-routes.ts';
import { CAP_ROUTES } from './cap/cap-routes.ts';
import { whatIfRoutes } from './what-if/routes.ts';

/**
 * The big-data SMS console's API (大数据短信): map data (areas, boundaries), options, live counts,
 * reach estimate, authorization letters, drafts, submit, the task list with pause / resume /
 * emergency stop, Excel export, live progress (Server-Sent Events), reached cells, and CAP 1.2 alerts
 * in and out (`cap/`).
 * Add each group to the portal's `API_ROUTES`.
 */
export const BIGDATA_ROUTES = [sendRoutes, taskRoutes, ...CAP_ROUTES, whatIfRoutes];

export { AlertBus, alertBus, setAlertBus, BusUnavailable } from './alert-bus.ts';
