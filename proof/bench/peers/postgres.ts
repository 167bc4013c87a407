import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@geo/infra/testing';

/** The newest PostgreSQL server Debian installed (15 on bookworm, 17 on trixie). */
function serverBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return join(root, newest ?? '15', 'bin');
}

export interface ThrowawayPostgres {
  url: string;
  stop(): Promise<void>;
}

/** Runs a command as the `postgres` user when we are root (PostgreSQL refuses to run as root). */
function asPostgres(cmd: string, args: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', cmd, ...args] : [cmd, ...args];
}

/**
 * A PostgreSQL cluster of its own in a temp folder (trust auth on 127.0.0.1, a free port), for the
 * PostGIS peer. Needs Debian's `postgresql` (and `postgresql-postgis` for the extension).
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const BIN = serverBin();
  if (!existsSync(join(BIN, 'initdb')))
    throw new Error(`PostgreSQL is not installed (${BIN}/initdb missing): apt-get install postgresql postgresql-postgis`);
  const dir = mkdtempSync(join(tmpdir(), 'geo-proof-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  if (process.getuid?.() === 0)
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    );
  const run = (cmd: string, args: string[]) => {
    const [c, ...a] = asPostgres(cmd, args);
    execFileSync(c!, a, { stdio: 'pipe' });
  };
  run(join(BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const [c, ...a] = asPostgres(join(BIN, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'shared_buffers=128MB',
  ]);
  const child = spawn(c!, a, { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      execFileSync(join(BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'pipe' });
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('PostgreSQL did not start within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    async stop() {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
