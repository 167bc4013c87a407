/**
 * `npm run bench:portal`: runs every `portal/bench/*.bench.ts` one after another, each in its own
 * process (so one's heap and timers don't skew the next), shows their output, and prints all their
 * figures last as JSON lines.
 *
 * Each part prints its own figures as JSON lines `{"bench":"portal","metric":…}`; pass part names to
 * run only some: `npm run bench:portal -- industry-import`.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const parts = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();
if (parts.length === 0) {
  console.error(`no portal benchmark matches ${only.join(', ') || '(none present)'}`);
  process.exit(2);
}

const figures: string[] = [];
let failed = 0;
for (const part of parts) {
  console.log(`\n== ${part}`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, part)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line.startsWith('{"bench"')) figures.push(line);
      }
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    failed++;
    console.error(`${part} failed with exit code ${code}`);
  }
}
console.log('');
for (const f of figures) console.log(f);
process.exit(failed ? 1 : 0);
