import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Context } from 'hono';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.md': 'text/markdown; charset=utf-8',
};

const MISSING = `<!doctype html><meta charset="utf-8"><title>门户未构建</title>
<p>单页应用尚未构建：请运行 <code>npm run build -w @geo/portal</code>，然后刷新。</p>
<p>The SPA is not built yet: run <code>npm run build -w @geo/portal</code>. <a href="/api/status">/api/status</a></p>`;

/**
 * Serves the built SPA from `dist`: files by path (never outside `dist`), and `index.html` for any
 * other page path so that the client-side router can take over.
 */
export function serveSpa(dist: string) {
  const root = resolve(dist);
  return (c: Context) => {
    const rel = normalize(decodeURIComponent(c.req.path)).replace(/^([/\\])+/, '');
    const file = resolve(join(root, rel));
    if ((file === root || file.startsWith(root + sep)) && rel && existsSync(file) && statSync(file).isFile()) {
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      // Vite puts a content hash in asset names, so they can be cached for good.
      const cache = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      return c.body(readFileSync(file), 200, { 'content-type': type, 'cache-control': cache });
    }
    const index = join(root, 'index.html');
    if (!existsSync(index)) return c.html(MISSING, 503);
    return c.html(readFileSync(index, 'utf8'), 200, { 'cache-control': 'no-cache' });
  };
}
