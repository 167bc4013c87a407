import { describe, expect, it } from 'vitest';
import { PortalEnv, envToConfig } from './config.ts';

describe('portal environment', () => {
  it('PRIVACY_K: the reach/heat-map privacy threshold, 10 unless set', () => {
    expect(envToConfig(PortalEnv.parse({})).privacyK).toBe(10);
    expect(envToConfig(PortalEnv.parse({ PRIVACY_K: '20' })).privacyK).toBe(20);
  });

  it('PRIVACY_K refuses what would weaken or break the threshold', () => {
    for (const bad of ['0', '1', '-5', '2.5', 'ten', '100001']) expect(PortalEnv.safeParse({ PRIVACY_K: bad }).success, bad).toBe(false);
  });

  it('SECRETS_KEY reaches the secrets box (unset: the generated key file)', () => {
    const key = 'a'.repeat(64);
    expect(envToConfig(PortalEnv.parse({ SECRETS_KEY: key })).secretsKey).toBe(key);
    expect(envToConfig(PortalEnv.parse({})).secretsKey).toBeUndefined();
  });
});
