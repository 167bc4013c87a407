import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The web sources (`portal/web`, whose `index.html` is the whole SPA): a test entry is rebuilt when any of them is newer than its build. */
export const WEB = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time under `dir`, builds, dot files and tests aside. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.') || e.name.endsWith('.test.ts')) continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Where a browser test's build goes: `base` plus a hash of this checkout's path, so that another
 * checkout running its tests at the same time (a CI clone beside the working tree) has its own
 * build; a shared one, newer than these sources, would be reused stale.
 */
export function e2eOutDir(base: string): string {
  return `${base}-${createHash('sha1').update(WEB).digest('hex').slice(0, 8)}`;
}

/**
 * Whether `outDir` holds a build newer than every source under `sources`: a build older than one
 * of them would serve the old UI to a test of the new one.
 */
export function isFreshBuild(outDir: string, sources: string = WEB): boolean {
  const index = join(outDir, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs > newest(sources);
}

/**
 * Builds a browser test's own entry (the `index.html` in `root`) into `outDir` (see `e2eOutDir`)
 * with Vite, unless a build newer than every web source is already there (builds are heavy on a
 * 2-core machine: build once, reuse).
 */
export async function buildE2eEntry(root: string, outDir: string): Promise<string> {
  if (isFreshBuild(outDir)) return outDir;
  const { build } = await import('vite');
  const solid = (await import('vite-plugin-solid')).default;
  await build({
    root,
    plugins: [solid()],
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 5000 },
    configFile: false,
  });
  return outDir;
}

/**
 * Builds the whole SPA (`portal/web/index.html`, as `npm start` serves it) into `outDir`, a folder
 * of the test's own (see `e2eOutDir`), never `portal/web/dist`: that one may be older than the
 * sources and belongs to `npm start`.
 */
export const buildApp = (outDir: string): Promise<string> => buildE2eEntry(WEB, outDir);
