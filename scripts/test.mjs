#!/usr/bin/env node
// `npm test`: every test, unit and integration, against real servers that the vitest global setup
// starts on free ports with temporary data and stops afterwards. Extra arguments go to vitest
// (a path filter such as `alerting/`, or `--project unit`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './ensure-deps.mjs';
import { ensureWeb } from './ensure-web.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureDeps(root);
// The servers, the browser and a CJK font, installed with apt as `npm start` does — or a stop now
// saying what to install, rather than suites failing halfway through the run.
const deps = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'infra', 'src', 'test', 'ensure-test-deps.ts')], {
  cwd: root,
  stdio: 'inherit',
});
if (deps.status !== 0) process.exit(deps.status ?? 1);
ensureWeb(root);
mkdirSync(join(root, '.data'), { recursive: true });
const report = join(root, '.data', 'test-report.json');
rmSync(report, { force: true });
const r = spawnSync(
  join(root, 'node_modules', '.bin', 'vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
const summary = summarize(existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : undefined, r.status);
console.log(summary.line);
process.exit(summary.ok ? 0 : r.status || 1);

/**
 * The last line of the run. A file whose `beforeAll` failed has no failed test (its tests are
 * skipped), and an unhandled error fails the run without failing a test: both count, and the line
 * says FAILED whenever the run failed.
 */
function summarize(j, status) {
  if (!j) return { ok: false, line: `Tests: 0 passed, 0 failed, 0 skipped; vitest wrote no report (exit ${status}) — FAILED` };
  const skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  const failedFiles = (j.testResults ?? []).filter((f) => f.status === 'failed');
  const failedInSetup = failedFiles.filter((f) => !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  const ok = status === 0 && j.numFailedTests === 0 && failedFiles.length === 0;
  for (const f of failedInSetup)
    console.log(`failed outside a test: ${f.name.replace(`${root}/`, '')}: ${String(f.message ?? '').split('\n')[0]}`);
  const files = `${failedFiles.length} of ${(j.testResults ?? []).length} files failed`;
  const unhandled =
    status !== 0 && failedFiles.length === 0 && j.numFailedTests === 0 ? `, vitest exited ${status} (unhandled errors: see above)` : '';
  return {
    ok,
    line: `Tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${skipped} skipped; ${files}${unhandled} — ${ok ? 'PASSED' : 'FAILED'}`,
  };
}
