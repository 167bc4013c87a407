import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../servers/free-port.ts';

const BEARERBOX = '/usr/sbin/bearerbox';
const SMSBOX = '/usr/sbin/smsbox';

/** The sendsms user and the admin password of every Kannel started here. */
export const KANNEL_USER = { username: 'bench', password: 'bench' };

/** One SMSC Kannel binds to over SMPP 3.4 (transceiver), `binds` times. */
export interface KannelSmsc {
  /** Kannel's smsc-id (binds of one SMSC share it). */
  id: string;
  host: string;
  port: number;
  systemId: string;
  password: string;
  /** @default 1 */
  binds?: number;
  /** Kannel's `max-pending-submits`: the submit window of each bind. @default 64 */
  window?: number;
  /** Numbers starting so are routed to this SMSC (`allowed-prefix`); none: any number. */
  allowedPrefix?: string;
}

export interface KannelOptions {
  smscs: KannelSmsc[];
  /** Where smsbox sends each mobile-originated message (a GET with from, to and the text as UTF-8); none: MOs are dropped. */
  moUrl?: string;
  /** Kannel's log level (0 debug … 4 panic): 3 keeps its logging out of a CPU measurement. @default 2 */
  logLevel?: number;
}

/** The ports a Kannel listens on. */
export interface KannelPorts {
  admin: number;
  /** bearerbox's port for smsbox. */
  box: number;
  /** smsbox's HTTP sendsms port. */
  send: number;
}

/**
 * The one `kannel.conf` of the tests and benchmarks: bearerbox (no resend: a refused submit is a
 * finding, not something to hide by retrying), an smsc group per bind, smsbox with an HTTP sendsms
 * user ({@link KANNEL_USER}, concatenation on, up to 3 parts) and a catch-all service that passes
 * MOs on to `moUrl` or drops them without answering.
 */
export function kannelConf(opts: KannelOptions, ports: KannelPorts, logDir: string): string {
  const smscGroups = opts.smscs
    .flatMap((s) =>
      Array.from(
        { length: s.binds ?? 1 },
        () => `
group = smsc
smsc = smpp
smsc-id = ${s.id}
host = ${s.host}
port = ${s.port}
transceiver-mode = true
smsc-username = ${s.systemId}
smsc-password = ${s.password}
system-type = ""
max-pending-submits = ${s.window ?? 64}
enquire-link-interval = 30
${s.allowedPrefix ? `allowed-prefix = ${s.allowedPrefix}\n` : ''}`,
      ),
    )
    .join('');
  const logLevel = opts.logLevel ?? 2;
  const service = opts.moUrl ? `get-url = "${opts.moUrl}?from=%p&to=%P&text=%a"\nmax-messages = 0` : 'text = ""\nomit-empty = true';
  return `
group = core
admin-port = ${ports.admin}
admin-password = ${KANNEL_USER.password}
smsbox-port = ${ports.box}
box-allow-ip = 127.0.0.1
admin-allow-ip = 127.0.0.1
log-file = ${logDir}/bearerbox.log
log-level = ${logLevel}
sms-resend-retry = -1
${smscGroups}
group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${ports.box}
sendsms-port = ${ports.send}
log-file = ${logDir}/smsbox.log
log-level = ${logLevel}
mo-recode = true

group = sendsms-user
username = ${KANNEL_USER.username}
password = ${KANNEL_USER.password}
concatenation = true
max-messages = 3

group = sms-service
keyword = default
catch-all = true
${service}
`;
}

export interface RunningKannel {
  /** smsbox's sendsms URL (user and password {@link KANNEL_USER}). */
  sendUrl: string;
  /** Its configuration and logs. */
  dir: string;
  /** The `kannel.conf` path: on bearerbox's and smsbox's command lines (a benchmark finds their pids by it). */
  confFile: string;
  /** Ends smsbox, then bearerbox, and removes `dir`. */
  stop(): Promise<void>;
}

const logTail = (dir: string) =>
  ['bearerbox', 'smsbox']
    .map((b) => {
      try {
        return `--- ${b}.log\n${readFileSync(join(dir, `${b}.log`), 'utf8')
          .split('\n')
          .slice(-15)
          .join('\n')}`;
      } catch {
        return `--- ${b}.log: none`;
      }
    })
    .join('\n');

/**
 * Debian's Kannel (bearerbox + smsbox) on free ports, configured by {@link kannelConf}; resolves
 * once smsbox answers HTTP. Its binds come up after that: wait for the SMSC to see them.
 * @example const k = await startKannel({ smscs: [{ id: 'sim', host: '127.0.0.1', port, systemId, password, binds: 2 }] });
 */
export async function startKannel(opts: KannelOptions, startTimeoutMs = 60_000): Promise<RunningKannel> {
  if (!existsSync(BEARERBOX)) throw new Error(`Kannel is not installed (${BEARERBOX}): apt-get install kannel`);
  const dir = mkdtempSync(join(tmpdir(), 'geo-kannel-'));
  const ports: KannelPorts = { admin: await freePort(), box: await freePort(), send: await freePort() };
  const confFile = join(dir, 'kannel.conf');
  writeFileSync(confFile, kannelConf(opts, ports, dir));
  const procs: ChildProcess[] = [];
  const start = (bin: string) => procs.push(spawn(bin, [confFile], { stdio: 'ignore', cwd: dir }));
  const stop = async () => {
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    start(BEARERBOX);
    // smsbox gives up at once when bearerbox is not listening yet.
    await new Promise((r) => setTimeout(r, 1500));
    start(SMSBOX);
    const sendUrl = `http://127.0.0.1:${ports.send}/cgi-bin/sendsms`;
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const dead = procs.find((p) => p.exitCode !== null || p.signalCode !== null);
      if (dead) throw new Error(`Kannel's ${dead.spawnfile} exited (${dead.exitCode ?? dead.signalCode}) at start:\n${logTail(dir)}`);
      try {
        await (await fetch(`${sendUrl}?username=x&password=y&to=1&text=x`, { signal: AbortSignal.timeout(2000) })).arrayBuffer();
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`Kannel's smsbox did not answer within ${startTimeoutMs / 1000} s:\n${logTail(dir)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    return { sendUrl, dir, confFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
