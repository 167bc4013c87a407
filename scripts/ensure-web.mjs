// Builds the portal's web app (Vite) when it has never been built or its sources changed since.
// `npm start` and `npm test` call it once, so test files never race to build it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function ensureWeb(root) {
  const web = join(root, 'portal', 'web');
  if (!existsSync(join(web, 'index.html'))) return;
  const built = join(web, 'dist', 'index.html');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(web)) return;
  console.log('Building the portal web app (vite build) …');
  const r = spawnSync('npm', ['run', 'build', '-w', '@geo/portal', '--if-present'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('The portal web app did not build; see the messages above.');
    process.exit(r.status ?? 1);
  }
}
