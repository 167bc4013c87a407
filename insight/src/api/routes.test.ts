import { describe, expect, it } from 'vitest';
import type { Logger } from '@geo/infra';
import { insightApi, type ApiContext } from './routes.ts';

describe('insight API errors', () => {
  it('logs an unexpected failure with its cause and answers 500 without details', async () => {
    const logged: unknown[][] = [];
    const log = { error: (...args: unknown[]) => logged.push(args) } as unknown as Logger;
    // A context whose region resolver fails the way a library error would.
    const ctx = {
      regions: {
        resolve: () => {
          throw new TypeError('boom inside a library');
        },
      },
      log,
    } as unknown as ApiContext;
    const res = await insightApi(ctx).request('/regions/metrics', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region: { areas: ['330106'] } }),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'INTERNAL', message: 'the query failed; see the insight log' } });
    expect(logged).toHaveLength(1);
    expect((logged[0]![0] as { err: Error; path: string }).err.message).toBe('boom inside a library');
    expect((logged[0]![0] as { path: string }).path).toBe('/regions/metrics');
  });
});
