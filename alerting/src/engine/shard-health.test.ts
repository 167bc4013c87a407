import { describe, expect, it } from 'vitest';
import { START_ALLOWANCE_MS, TAKEOVER_ALLOWANCE_MS, shardsHealth } from './shard-health.ts';

describe('the shards health check', () => {
  it('is ok while every held shard consumes, or has not been idle longer than its back-off and start', () => {
    expect(shardsHealth([])).toEqual({ ok: true, detail: '0 of 0 shards consuming' });
    const r = shardsHealth([
      { shard: 0, consuming: true, restarts: 0, backoffMs: 0, waitingMs: 90_000 },
      { shard: 1, consuming: false, restarts: 3, backoffMs: 5_000, idleMs: 5_000 + START_ALLOWANCE_MS },
      { shard: 2, consuming: false, restarts: 0, backoffMs: 0, idleMs: TAKEOVER_ALLOWANCE_MS, takingOver: true },
    ]);
    expect(r).toEqual({ ok: true, detail: '1 of 3 shards consuming' });
  });

  it('is not ok for a held shard not consuming for longer, and names it', () => {
    const r = shardsHealth([
      { shard: 0, consuming: true, restarts: 0, backoffMs: 0 },
      { shard: 4, consuming: false, restarts: 7, backoffMs: 10_000, idleMs: 10_001 + START_ALLOWANCE_MS },
      { shard: 5, consuming: false, restarts: 0, backoffMs: 1_000, idleMs: 1_001 + TAKEOVER_ALLOWANCE_MS, takingOver: true },
    ]);
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(
      '1 of 3 shards consuming; shard 4 not consuming for 40 s (restarts 7), shard 5 taken over for 121 s (restarts 0)',
    );
  });
});
