import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { serveSpa } from './static.ts';

describe('the SPA server', () => {
  const dist = mkdtempSync(join(tmpdir(), 'spa-'));
  mkdirSync(join(dist, 'manual'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
  for (const f of ['manual/big-screen.jpg', 'manual/photo.jpeg', 'manual/heatmap.png', 'manual/x.unknown'])
    writeFileSync(join(dist, f), 'x');
  const app = new Hono().get('*', serveSpa(dist));
  afterAll(() => rmSync(dist, { recursive: true, force: true }));

  it.each([
    ['/manual/big-screen.jpg', 'image/jpeg'],
    ['/manual/photo.jpeg', 'image/jpeg'],
    ['/manual/heatmap.png', 'image/png'],
    ['/manual/x.unknown', 'application/octet-stream'],
  ])('serves %s as %s (the manual’s pictures are PNG and JPEG)', async (path, type) => {
    const r = await app.request(path);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(type);
  });

  it('answers index.html for a page path and never a file outside dist', async () => {
    expect(await (await app.request('/insight/big-screen')).text()).toContain('<title>app</title>');
    expect(await (await app.request('/..%2F..%2Fetc%2Fpasswd')).text()).toContain('<title>app</title>');
  });
});
