import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isFreshBuild } from './build-entry.ts';

describe('a browser test reuses a build only while it is newer than every web source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'build-entry-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'web'),
    out = join(dir, 'out');
  mkdirSync(join(src, 'feature'), { recursive: true });
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

  it('has no build to reuse before the first one', () => {
    writeFileSync(join(src, 'feature', 'page.tsx'), 'export {}');
    expect(isFreshBuild(out, src)).toBe(false);
  });

  it('reuses a build newer than the sources, and rebuilds once a source (however deep) is newer', () => {
    at(join(src, 'feature', 'page.tsx'), 1_000);
    mkdirSync(out);
    writeFileSync(join(out, 'index.html'), '<html></html>');
    at(join(out, 'index.html'), 2_000);
    expect(isFreshBuild(out, src)).toBe(true);
    at(join(src, 'feature', 'page.tsx'), 3_000);
    expect(isFreshBuild(out, src)).toBe(false);
  });

  it('does not count tests or a build folder inside the sources as sources', () => {
    at(join(src, 'feature', 'page.tsx'), 1_000);
    writeFileSync(join(src, 'feature', 'page.test.ts'), '');
    at(join(src, 'feature', 'page.test.ts'), 5_000);
    mkdirSync(join(src, 'dist'));
    writeFileSync(join(src, 'dist', 'index.html'), '');
    at(join(src, 'dist', 'index.html'), 5_000);
    expect(isFreshBuild(out, src)).toBe(true);
  });
});
