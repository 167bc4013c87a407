import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from './ensure-binary.ts';

/**
 * nats-server 2.10 or newer, for `jetstream { sync_interval: always }`: the only setting with which an
 * acknowledged message survives a power loss of one node (DESIGN.md, reliability facts). Debian
 * bookworm carries 2.9.10, which has no such setting; Debian trixie carries 2.10.27, a static Go
 * binary that runs on bookworm. So, without installing anything system-wide, the trixie package is
 * fetched from Debian's archive, verified the way apt verifies it (the suite's InRelease signed by a
 * key of the machine's `debian-archive-keyring`, checked with `gpgv`; the Packages index's SHA-256
 * from it; the .deb's SHA-256 from the index), and unpacked into a cache folder of the project.
 * Nothing of the system changes: `apt` still knows only bookworm's 2.9.10.
 */

/** Where unpacked newer servers are kept (the repository's `.data/bin`, beside the servers' data). */
export const NATS_CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '.data', 'bin');
/** Debian's archive and the suite that carries nats-server ≥ 2.10. */
const ARCHIVE = 'http://deb.debian.org/debian';
const SUITE = 'trixie';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** `nats-server --version` → [major, minor, patch], or undefined when it cannot be run. */
export function natsServerVersion(bin: string): [number, number, number] | undefined {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
  } catch {
    return undefined;
  }
}

/** Whether this server knows `jetstream { sync_interval }` (2.10 and newer). */
export function supportsSyncInterval(version: [number, number, number] | undefined): boolean {
  return version !== undefined && (version[0] > 2 || (version[0] === 2 && version[1] >= 10));
}

/** A nats-server ≥ 2.10 already unpacked in the cache, if any (no network). */
export function cachedNewerNats(cacheDir = NATS_CACHE_DIR): string | undefined {
  const bin = join(cacheDir, 'nats-server');
  return existsSync(bin) && supportsSyncInterval(natsServerVersion(bin)) ? bin : undefined;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function download(url: string): Promise<Buffer> {
  const r = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

/** The stanza of `pkg` for this architecture in a Packages index (`Field: value` lines). */
export function packageStanza(index: string, pkg: string): Record<string, string> | undefined {
  for (const stanza of index.split(/\n\n+/)) {
    if (!stanza.startsWith(`Package: ${pkg}\n`)) continue;
    const fields: Record<string, string> = {};
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z0-9-]+): (.*)$/.exec(line);
      if (m) fields[m[1]!] = m[2]!;
    }
    return fields;
  }
  return undefined;
}

/** The SHA-256 an InRelease file gives for `path` (e.g. `main/binary-amd64/Packages.xz`). */
export function releaseSha256(inRelease: string, path: string): string | undefined {
  const sha = inRelease.split(/^SHA256:$/m)[1];
  if (!sha) return undefined;
  for (const line of sha.split('\n')) {
    const m = /^ ([0-9a-f]{64})\s+\d+\s+(\S+)$/.exec(line);
    if (m && m[2] === path) return m[1];
    if (line && !line.startsWith(' ')) break;
  }
  return undefined;
}

/**
 * Fetches, verifies and unpacks Debian trixie's nats-server into `cacheDir`; returns its path.
 * Throws with the reason when any step fails (no network, a bad signature, a checksum mismatch,
 * a missing tool): the caller falls back to the system's server.
 */
export async function fetchNewerNats(opts: { cacheDir?: string; log?: (msg: string) => void } = {}): Promise<string> {
  const cacheDir = opts.cacheDir ?? NATS_CACHE_DIR;
  const log = opts.log ?? console.log;
  for (const tool of ['gpgv', 'xz', 'dpkg-deb']) if (!which(tool)) throw new Error(`${tool} is missing`);
  if (!existsSync(KEYRING)) throw new Error(`${KEYRING} is missing (Debian's debian-archive-keyring)`);
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  // On a fresh clone `.data/` does not exist yet (npm test makes it after this step).
  mkdirSync(dirname(cacheDir), { recursive: true });
  const work = mkdtempSync(join(dirname(cacheDir), '.nats-fetch-'));
  try {
    log(`fetching nats-server ≥ 2.10 from Debian ${SUITE} (verified with the system's Debian archive keys) …`);
    const inRelease = await download(`${ARCHIVE}/dists/${SUITE}/InRelease`);
    writeFileSync(join(work, 'InRelease'), inRelease);
    const v = spawnSync('gpgv', ['--keyring', KEYRING, join(work, 'InRelease')], { encoding: 'utf8' });
    if (v.status !== 0) throw new Error(`the ${SUITE} InRelease signature does not verify: ${v.stderr.trim().split('\n').pop()}`);
    const indexPath = `main/binary-${arch}/Packages.xz`;
    const indexSha = releaseSha256(inRelease.toString('utf8'), indexPath);
    if (!indexSha) throw new Error(`InRelease lists no ${indexPath}`);
    const indexXz = await download(`${ARCHIVE}/dists/${SUITE}/${indexPath}`);
    if (sha256(indexXz) !== indexSha) throw new Error(`${indexPath}: SHA-256 differs from InRelease`);
    const index = execFileSync('xz', ['-dc'], { input: indexXz, maxBuffer: 512 * 1024 * 1024 }).toString('utf8');
    const st = packageStanza(index, 'nats-server');
    if (!st?.Filename || !st.SHA256) throw new Error(`${SUITE} has no nats-server for ${arch}`);
    const deb = await download(`${ARCHIVE}/${st.Filename}`);
    if (sha256(deb) !== st.SHA256) throw new Error(`${st.Filename}: SHA-256 differs from the Packages index`);
    writeFileSync(join(work, 'nats.deb'), deb);
    execFileSync('dpkg-deb', ['-x', join(work, 'nats.deb'), join(work, 'root')]);
    const unpacked = join(work, 'root', 'usr', 'sbin', 'nats-server');
    const version = natsServerVersion(unpacked);
    if (!supportsSyncInterval(version)) throw new Error(`the unpacked nats-server says version ${version?.join('.') ?? 'unknown'}`);
    mkdirSync(cacheDir, { recursive: true });
    renameSync(unpacked, join(cacheDir, 'nats-server'));
    writeFileSync(join(cacheDir, 'nats-server.source'), `Debian ${SUITE} ${st.Version} ${st.Filename} sha256 ${st.SHA256}\n`);
    log(`  nats-server ${version!.join('.')} (Debian ${SUITE} ${st.Version}) is in ${cacheDir}`);
    return join(cacheDir, 'nats-server');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Makes a nats-server ≥ 2.10 available when none is (cached, or on the system), fetching Debian
 * trixie's. Returns its path, or undefined — saying why — when it cannot be had; the system's
 * 2.9.10 is used then.
 */
export async function ensureNewerNats(opts: { cacheDir?: string; log?: (msg: string) => void } = {}): Promise<string | undefined> {
  const system = which('nats-server');
  if (system && supportsSyncInterval(natsServerVersion(system))) return system;
  const cached = cachedNewerNats(opts.cacheDir);
  if (cached) return cached;
  try {
    return await fetchNewerNats(opts);
  } catch (err) {
    (opts.log ?? console.log)(
      `nats-server ≥ 2.10 could not be had (${(err as Error).message}); using the system's nats-server without sync_interval`,
    );
    return undefined;
  }
}

/** Reads the cache's record of where its server came from (for the status page and logs). */
export function cachedNatsSource(cacheDir = NATS_CACHE_DIR): string | undefined {
  const f = join(cacheDir, 'nats-server.source');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}
