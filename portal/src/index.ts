/** The portal's public surface. Test tools and fixtures are in `@geo/portal/testing` (src/test/index.ts). */
export { createPortal, DEFAULT_WEB_DIST, type Portal } from './portal.ts';
export { PortalEnv, envToConfig, type PortalConfig } from './config.ts';
export { FEATURES, type Feature } from './auth/permissions.ts';
export { ERRORS, AppError, type ErrorCode } from './errors.ts';
