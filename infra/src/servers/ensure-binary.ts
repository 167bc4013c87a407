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

/**
 * Returns the path of `bin`, installing Debian package `aptPackage` when it is missing on
 * Debian/Ubuntu. Elsewhere it throws with exactly what to install.
 */
export function ensureBinary(bin: string, aptPackage: string, log: (msg: string) => void = console.log): string {
  const found = which(bin);
  if (found) return found;
  if (!isDebianLike()) {
    throw new MissingBinaryError(
      `${bin} is not installed. Install the "${aptPackage}" package (or the upstream ${bin} release) and run again.`,
    );
  }
  const asRoot = process.getuid?.() === 0;
  const sudo = asRoot ? [] : ['sudo'];
  log(`${bin} is missing: installing Debian package ${aptPackage} with apt-get …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(asRoot ? [] : ['apt-get']), 'install', '-y', '-q', aptPackage], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(asRoot ? [] : ['apt-get']), 'update', '-q'], { stdio: 'inherit', env });
    r = spawnSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(asRoot ? [] : ['apt-get']), 'install', '-y', '-q', aptPackage], { stdio: 'inherit', env });
  }
  const after = which(bin);
  if (r.status !== 0 || !after) {
    throw new MissingBinaryError(`could not install ${aptPackage}; run "apt-get install ${aptPackage}" as root and try again`);
  }
  try {
    // Debian's package may start the system-wide service; the project runs its own instance.
    execFileSync('sh', ['-c', `command -v systemctl >/dev/null && systemctl disable --now ${aptPackage} 2>/dev/null || service ${aptPackage} stop 2>/dev/null || true`]);
  } catch {
    /* best effort */
  }
  return after;
}
