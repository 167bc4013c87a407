import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export class MissingBinaryError extends Error {
  override name = 'MissingBinaryError';
  readonly code = 'MISSING_BINARY';
}

/** Finds an executable on PATH or in the usual system folders (Debian puts servers in /usr/sbin). */
export function which(bin: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) {
    if (d && existsSync(`${d}/${bin}`)) return `${d}/${bin}`;
  }
  return undefined;
}

function isDebianLike(): boolean {
  try {
    const os = readFileSync('/etc/os-release', 'utf8');
    return /^(ID|ID_LIKE)=.*(debian|ubuntu)/m.test(os);
  } catch {
    return false;
  }
}

/** A Debian package the project needs, and how to tell that it is there. */
export interface SystemNeed {
  /** The Debian package that brings it. */
  apt: string;
  /** An executable found on PATH or in the system folders, or … */
  bin?: string;
  /** … a file that the package installs (a font, a library). */
  path?: string;
  /** Why it is needed, for the message when it cannot be installed. */
  why?: string;
}

const present = (n: SystemNeed) => (n.bin ? which(n.bin) !== undefined : n.path ? existsSync(n.path) : false);

/**
 * Installs every missing package of `needs` with one apt-get call (an `apt-get update` and a second
 * try when the first fails, as on a fresh machine whose package lists are empty). Elsewhere than on
 * Debian/Ubuntu, or when apt fails, it throws saying exactly what to install — before anything runs,
 * so that a run never fails halfway for want of a package.
 */
export function ensurePackages(needs: SystemNeed[], log: (msg: string) => void = console.log): void {
  const missing = needs.filter((n) => !present(n));
  if (missing.length === 0) return;
  const names = [...new Set(missing.map((n) => n.apt))];
  const what = missing.map((n) => `${n.apt}${n.why ? ` (${n.why})` : ''}`).join(', ');
  if (!isDebianLike()) throw new MissingBinaryError(`missing: ${what}. Install these packages (or their upstream releases) and run again.`);
  const asRoot = process.getuid?.() === 0;
  const apt = (args: string[]) =>
    spawnSync(asRoot ? 'apt-get' : 'sudo', [...(asRoot ? [] : ['apt-get']), ...args], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  log(`missing: ${what}: installing with apt-get …`);
  let r = apt(['install', '-y', '-q', ...names]);
  if (r.status !== 0) {
    apt(['update', '-q']);
    r = apt(['install', '-y', '-q', ...names]);
  }
  const still = needs.filter((n) => !present(n));
  if (r.status !== 0 || still.length > 0) {
    throw new MissingBinaryError(`could not install ${names.join(' ')}; run "apt-get install ${names.join(' ')}" as root and try again`);
  }
  for (const name of names) {
    try {
      // Debian's package may start the system-wide service; the project runs its own instance.
      execFileSync('sh', [
        '-c',
        `command -v systemctl >/dev/null && systemctl disable --now ${name} 2>/dev/null || service ${name} stop 2>/dev/null || true`,
      ]);
    } catch {
      /* best effort */
    }
  }
}

/**
 * Returns the path of `bin`, installing Debian package `aptPackage` when it is missing on
 * Debian/Ubuntu. Elsewhere it throws with exactly what to install.
 */
export function ensureBinary(bin: string, aptPackage: string, log: (msg: string) => void = console.log): string {
  ensurePackages([{ bin, apt: aptPackage }], log);
  return which(bin)!;
}
