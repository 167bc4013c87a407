import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../servers/child-process.ts';
import type { ServicePlan } from './services.ts';

export interface SupervisedService {
  plan: ServicePlan;
  proc?: ManagedProcess;
  restarts: number;
}

/**
 * Runs each planned service as its own Node process (tsx), logs to `<logDir>/<name>.log`, and
 * restarts one that dies unexpectedly, with a growing delay.
 */
export class Supervisor {
  readonly services: SupervisedService[] = [];
  private stopping = false;

  constructor(
    private readonly root: string,
    private readonly logDir: string,
    private readonly say: (msg: string) => void,
  ) {}

  start(plan: ServicePlan): SupervisedService | undefined {
    const entry = join(this.root, plan.entry);
    if (!existsSync(entry)) {
      this.say(`  · ${plan.name}: not built yet (${plan.entry} missing), skipped`);
      return undefined;
    }
    const s: SupervisedService = { plan, restarts: 0 };
    this.services.push(s);
    this.spawn(s);
    return s;
  }

  private spawn(s: SupervisedService): void {
    const proc = startProcess({
      name: s.plan.name,
      command: process.execPath,
      args: ['--import', 'tsx', join(this.root, s.plan.entry)],
      logFile: join(this.logDir, `${s.plan.name}.log`),
      env: { ...process.env, ...s.plan.env, GEO_SUPERVISED: '1' },
      cwd: this.root,
    });
    s.proc = proc;
    void proc.exited.then((code) => {
      if (this.stopping) return;
      s.restarts++;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(s.restarts, 5));
      this.say(`! ${s.plan.name} exited (code ${code}); restarting in ${delay / 1000}s — see ${join(this.logDir, `${s.plan.name}.log`)}`);
      setTimeout(() => !this.stopping && this.spawn(s), delay).unref();
    });
  }

  /** Stops services in reverse start order (the portal first, the SMSC simulator last). */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const s of [...this.services].reverse()) await s.proc?.stop(15_000);
  }
}
