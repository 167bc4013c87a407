#!/usr/bin/env node
// `npm start`: installs npm dependencies when missing, builds the portal's web app when it has not
// been built, then hands over to the orchestrator (infra/src/up/main.ts), which installs missing
// servers with apt, starts them and every service.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './ensure-deps.mjs';
import { ensureWeb } from './ensure-web.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureDeps(root);
ensureWeb(root);
const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'infra', 'src', 'up', 'main.ts')], { cwd: root, stdio: 'inherit' });
// The terminal sends Ctrl-C to the whole group; the orchestrator handles it. Forward a plain TERM too.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig === 'SIGINT' ? 'SIGINT' : 'SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 0)));
