import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@geo/infra/testing';

export interface RunningKannel {
  /** smsbox's sendsms URL (user `bench`, password `bench`). */
  sendUrl: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Debian's Kannel (bearerbox + smsbox) with two SMPP transceiver binds to one SMSC, the window
 * (`max-pending-submits`) as ours (64), and an HTTP sendsms user.
 */
export async function startKannel(
  smsc: { host: string; port: number; systemId: string; password: string },
  binds = 2,
  window = 64,
  /** Where smsbox sends each mobile-originated message (an HTTP GET with from, to and the text as UTF-8); none by default. */
  moUrl?: string,
): Promise<RunningKannel> {
  if (!existsSync('/usr/sbin/bearerbox')) throw new Error('Kannel is not installed (/usr/sbin/bearerbox): apt-get install kannel');
  const dir = mkdtempSync(join(tmpdir(), 'geo-proof-kannel-'));
  const [admin, box, send] = [await freePort(), await freePort(), await freePort()];
  const smscGroups = Array.from(
    { length: binds },
    () => `
group = smsc
smsc = smpp
smsc-id = sim
host = ${smsc.host}
port = ${smsc.port}
transceiver-mode = true
smsc-username = ${smsc.systemId}
smsc-password = ${smsc.password}
system-type = ""
max-pending-submits = ${window}
enquire-link-interval = 30
`,
  ).join('');
  const conf = `
group = core
admin-port = ${admin}
admin-password = bench
smsbox-port = ${box}
box-allow-ip = 127.0.0.1
admin-allow-ip = 127.0.0.1
log-file = ${dir}/bearerbox.log
log-level = 2
sms-resend-retry = -1
${smscGroups}
group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${box}
sendsms-port = ${send}
log-file = ${dir}/smsbox.log
log-level = 2
mo-recode = true

group = sendsms-user
username = bench
password = bench
concatenation = true
max-messages = 3

group = sms-service
keyword = default
catch-all = true
${moUrl ? `get-url = "${moUrl}?from=%p&to=%P&text=%a"\nmax-messages = 0` : 'text = ""\nomit-empty = true'}
`;
  const file = join(dir, 'kannel.conf');
  writeFileSync(file, conf);
  const procs: ChildProcess[] = [];
  const start = (bin: string) => {
    const p = spawn(bin, [file], { stdio: 'ignore', cwd: dir });
    procs.push(p);
    return p;
  };
  start('/usr/sbin/bearerbox');
  await new Promise((r) => setTimeout(r, 1500));
  start('/usr/sbin/smsbox');
  const sendUrl = `http://127.0.0.1:${send}/cgi-bin/sendsms`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await fetch(`${sendUrl}?username=x&password=y&to=1&text=x`, { signal: AbortSignal.timeout(2000) });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`Kannel smsbox did not answer within 30 s (logs in ${dir})`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return {
    sendUrl,
    dir,
    async stop() {
      for (const p of procs.reverse()) {
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        await new Promise<void>((r) => (p.exitCode !== null ? r() : p.once('exit', () => r())));
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
