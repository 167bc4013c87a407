import { describe, expect, it } from 'vitest';

/** Issue 20: the portal's public surface holds no test tools; they are behind `@geo/portal/testing`. */
describe('the portal package surfaces', () => {
  const testTools = [
    'testPortal',
    'login',
    'loginAdmin',
    'call',
    'solveCaptcha',
    'zip',
    'deflatedSpaces',
    'tinyPng',
    'onePagePdf',
    'freshDatabase',
  ];

  it('@geo/portal exports the service, its config and its error table, and no test tool', async () => {
    const pub = await import('@geo/portal');
    expect(Object.keys(pub)).toEqual(expect.arrayContaining(['createPortal', 'envToConfig', 'PortalEnv', 'ERRORS', 'AppError']));
    expect(Object.keys(pub).filter((k) => testTools.includes(k))).toEqual([]);
  });

  it('@geo/portal/testing exports the test harness and fixtures in one place', async () => {
    const testing = await import('@geo/portal/testing');
    expect(Object.keys(testing)).toEqual(expect.arrayContaining(testTools));
  });
});
