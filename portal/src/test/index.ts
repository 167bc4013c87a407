/**
 * `@geo/portal/testing`: what tests of the portal and of the whole system use, kept off the
 * portal's public surface (`@geo/portal`), as nats.js keeps `internal_mod.ts` apart from `mod.ts`.
 * Nothing here is for production code.
 */
export {
  call,
  demo,
  login,
  loginAdmin,
  loginOperator,
  loginSub,
  nextIp,
  otherEnterprise,
  postSpaces,
  solveCaptcha,
  START_TIMEOUT,
  testPortal,
  type Client,
  type SpacesAnswer,
} from './harness.ts';
export { DEMO_CREDENTIALS } from '../demo/credentials.ts';
/** Zip bombs and lying zip headers, for the upload limits. */
export { deflatedSpaces, zip } from '../industry/zip-bomb.fixture.ts';
/** A PNG and a one-page PDF that open, for document uploads (authorization letters). */
export { onePagePdf, tinyPng } from '../http/document-fixtures.ts';
/** A fresh database on a test PostgreSQL server, for several portal instances on one database. */
export { freshDatabase } from '../jobs/test-database.ts';
