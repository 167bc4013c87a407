#!/usr/bin/env node
// `npm start`: installs npm dependencies when missing, builds the portal's web app when it has not
// been built, then hands over to the orchestrator (infra/src/up/main.ts), which installs missing
// servers with apt, starts them and every service.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './ensure-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureDeps(root);
if (existsSync(join(root, 'portal', 'web', 'index.html')) && !existsSync(join(root, 'portal', 'web', 'dist', 'index.html'))) {
  console.log('Building the portal web app …');
  const r = spawnSync('npm', ['run', 'build', '-w', '@geo/portal', '--if-present'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'infra', 'src', 'up', 'main.ts')], { cwd: root, stdio: 'inherit' });
// The terminal sends Ctrl-C to the whole group; the orchestrator handles it. Forward a plain TERM too.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig === 'SIGINT' ? 'SIGINT' : 'SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 0)));
