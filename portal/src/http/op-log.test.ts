import { describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { OPERATIONS } from './op-log.ts';

describe('operation log words', () => {
  it('names every state-changing route of the portal in words, or as a read that is not logged', () => {
    const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as never;
    const { app } = buildApp({ db: {} as never, cfg: {} as never, log: silent, ch: undefined }, '/nonexistent');
    const unsafe = new Set(
      app.routes
        .filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && r.path.startsWith('/api/'))
        .map((r) => `${r.method} ${r.path}`),
    );
    expect([...unsafe].filter((k) => !(k in OPERATIONS))).toEqual([]);
    for (const [k, words] of Object.entries(OPERATIONS)) if (words !== null) expect(words, k).toMatch(/^[\u4e00-\u9fff]/);
  });
});
