import { describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';
import { PortalEnv, envToConfig } from './config.ts';

const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as never;

/** The security policy the portal sends with its pages, for a config. */
async function policy(mapOrigins?: string[]): Promise<string> {
  const { app } = buildApp({ db: {} as never, cfg: { mapOrigins } as never, log: silent, ch: undefined }, '/nonexistent');
  const r = await app.request('/some/page');
  return r.headers.get('content-security-policy') ?? '';
}

describe('a deployment’s own map server (MAP_ORIGINS)', () => {
  it('is allowed to serve the map’s style, tiles and images, and nothing else is', async () => {
    const csp = await policy(['https://tiles.example.cn', 'http://10.0.0.5:8081']);
    expect(csp).toMatch(/connect-src 'self' https:\/\/tiles\.example\.cn http:\/\/10\.0\.0\.5:8081(;|$)/);
    expect(csp).toMatch(/img-src 'self' data: blob: https:\/\/tiles\.example\.cn http:\/\/10\.0\.0\.5:8081(;|$)/);
    expect(csp).toMatch(/default-src 'self'(;|$)/);
  });

  it('allows no other origin by default', async () => {
    const csp = await policy(undefined);
    expect(csp).toMatch(/connect-src 'self'(;|$)/);
    expect(csp).toMatch(/img-src 'self' data: blob:(;|$)/);
  });

  it('is read from the environment, comma-separated, and refuses what is not an origin', () => {
    expect(envToConfig(PortalEnv.parse({})).mapOrigins).toEqual([]);
    expect(envToConfig(PortalEnv.parse({ MAP_ORIGINS: ' https://tiles.example.cn , http://10.0.0.5:8081' })).mapOrigins).toEqual([
      'https://tiles.example.cn',
      'http://10.0.0.5:8081',
    ]);
    // A path, another scheme, or anything that would add a directive to the policy is refused.
    for (const bad of [
      'tiles.example.cn',
      'https://tiles.example.cn/style.json',
      'ftp://x',
      "https://a.cn; script-src 'unsafe-inline'",
      'https://a.cn *',
    ])
      expect(PortalEnv.safeParse({ MAP_ORIGINS: bad }).success, bad).toBe(false);
  });
});
