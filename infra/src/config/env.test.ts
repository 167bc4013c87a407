import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commaList, commonEnv, port, readConfig } from './env.ts';

const Env = z.object({ ...commonEnv, HEALTH_PORT: port(9101) });

describe('readConfig', () => {
  it('applies defaults when variables are unset', () => {
    expect(readConfig(Env, {})).toEqual({ LOG_LEVEL: 'info', NATS_URL: 'nats://127.0.0.1:4222', HEALTH_PORT: 9101 });
  });

  it('stops with one clear line per wrong variable, naming the value it got', () => {
    let err: unknown;
    try {
      readConfig(Env, { HEALTH_PORT: 'eighty', NATS_URL: 'localhost:4222', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/HEALTH_PORT: .* \(got "eighty"\)/);
    expect(msg).toMatch(/NATS_URL: expected a nats:\/\/host:port URL .* \(got "localhost:4222"\)/);
    expect(msg).toMatch(/LOG_LEVEL: .* \(got "loud"\)/);
  });

  it('refuses a port outside 0–65535', () => {
    expect(() => readConfig(Env, { HEALTH_PORT: '70000' })).toThrow(/HEALTH_PORT/);
  });

  it('reads a comma-separated list: items trimmed, empty ones dropped, unset the empty list', () => {
    const L = z.object({ LIST: commaList() });
    expect(readConfig(L, {}).LIST).toEqual([]);
    expect(readConfig(L, { LIST: ' a, b ,,c ' }).LIST).toEqual(['a', 'b', 'c']);
  });
});
