/**
 * Summarises a .cpuprofile written by `BENCH_PROF=<dir> npm run bench:messaging` (or `node --cpu-prof`):
 * busy time by owner (each sample to the nearest frame in our source — a folder of messaging/src,
 * or a file of the sender — else to the library or Node internals it ran in; GC apart) and the
 * functions with the most self time.
 *
 *   npx tsx messaging/bench/profile-summary.ts /tmp/prof/benchxyz.cpuprofile [top=25]
 *
 * Read shares taken on a loaded machine with care: the sampler attributes time the process spent
 * preempted to whatever it was in, so socket writes (which wake the peer) look dearer than they are.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const timeOf = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) timeOf.set(p.samples[i]!, (timeOf.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));

const short = (url: string) => url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(messaging|infra)\//, '$1/');
const owners = new Map<string, number>();
const self = new Map<string, number>();
let busy = 0;
for (const [id, dt] of timeOf) {
  const leaf = byId.get(id)!.callFrame;
  if (leaf.functionName === '(idle)') continue;
  busy += dt;
  const selfKey = `${leaf.functionName || '(anonymous)'} ${short(leaf.url)}`.trim();
  self.set(selfKey, (self.get(selfKey) ?? 0) + dt);
  let owner = leaf.functionName === '(garbage collector)' || leaf.functionName === '(program)' ? leaf.functionName : undefined;
  let outside: string | undefined;
  for (let x: number | undefined = id; !owner && x !== undefined; x = parent.get(x)) {
    const url = byId.get(x)!.callFrame.url;
    const ours = /\/(messaging\/src\/[^/]+|messaging\/bench|infra\/src\/[^/]+)(\/[^/]+)?/.exec(url);
    if (ours) owner = ours[1]!.endsWith('/sender') ? `${ours[1]}${ours[2] ?? ''}` : ours[1];
    else if (!outside && url)
      outside = url.includes('/node_modules/')
        ? `lib ${url.replace(/^.*\/node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')}`
        : url.startsWith('node:')
          ? 'node internals'
          : url;
  }
  owner ??= outside ?? '(native, no JavaScript caller)';
  owners.set(owner, (owners.get(owner) ?? 0) + dt);
}
const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)} %`;
const idle = [...timeOf].reduce((s, [id, dt]) => s + (byId.get(id)!.callFrame.functionName === '(idle)' ? dt : 0), 0);
console.log(`${file}: busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s`);
console.log('\nbusy time by owner');
for (const [k, t] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
console.log('\nself time by function');
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
