export { createPortal, DEFAULT_WEB_DIST, type Portal } from './portal.ts';
export { PortalEnv, envToConfig, type PortalConfig } from './config.ts';
export { DEMO_CREDENTIALS } from './demo/credentials.ts';
export { FEATURES, type Feature } from './auth/permissions.ts';
export { ERRORS, AppError, type ErrorCode } from './errors.ts';
