import { CAPS_BUCKET, isTerminal, KvBudget, type AlertTask } from '@geo/alerting';
import { Kvm } from '@nats-io/kv';
import type { Deps } from '../../http/context.ts';
import { alertBus, type AlertBus } from '../bigdata/alert-bus.ts';
import { unbalanced } from './ledger.ts';
import { refundFailed } from './refunds.ts';
import { chargeByLanguage, loggedUnits } from '../bigdata/languages/sent-units.ts';
import { openReservations, settleTask, TASK_CARRIERS } from './reservations.ts';

export interface LedgerOptions {
  /** How often ended tasks are settled and failed numbers refunded. @default 10000 */
  tickMs?: number;
  /**
   * How long after a task ended its reservation is settled: alerting may still finish a batch it
   * had reserved before it saw the stop. @default 30000
   */
  graceMs?: number;
  /** Alerting's caps bucket (tests use their own). @default CAPS_BUCKET */
  capsBucket?: string;
  /** The bus to read task states from. @default alertBus(deps) */
  bus?: () => Promise<AlertBus>;
}

export interface RunningLedger {
  /** One pass now (tests, and after a restart): settles ended tasks, refunds failed numbers. */
  tick(): Promise<{ released: number; refunded: number }>;
  stop(): Promise<void>;
}

/**
 * Settles big-data tasks that ended: charged what alerting counted as sent (its per-task total
 * counters in the caps bucket), the rest of the reservation released. Tasks still live are left
 * alone; without NATS nothing is settled (and nothing lost: the next pass does it).
 */
export async function settleEnded(deps: Deps, opts: LedgerOptions = {}): Promise<number> {
  const open = await openReservations(deps.db);
  if (!open.length) return 0;
  const bus = await (opts.bus ?? (() => alertBus(deps)))();
  const caps = new KvBudget(await new Kvm(bus.nc).open(opts.capsBucket ?? CAPS_BUCKET));
  const grace = opts.graceMs ?? 30_000;
  let released = 0;
  const ending: { taskId: string; perMessage: number; sent: number }[] = [];
  for (const r of open) {
    let t: AlertTask | undefined;
    try {
      t = await bus.get(r.taskId);
    } catch (err) {
      // Unreadable is not ended: never settle a task whose state is unknown.
      deps.log.warn({ err, taskId: r.taskId }, 'ledger: task state unreadable; not settled this pass');
      continue;
    }
    // A task missing from the bucket was removed: it sends nothing more, so it is settled too.
    if (t && (!isTerminal(t.state) || Date.now() - t.updatedAt < grace)) continue;
    const used = await caps.usedTotals(r.taskId, TASK_CARRIERS);
    ending.push({ taskId: r.taskId, perMessage: r.perMessage, sent: TASK_CARRIERS.reduce((n, c) => n + (used[c] ?? 0), 0) });
  }
  // What each task's messages cost by the send log (a person who got the Chinese text of a bilingual
  // task pays its segments, not the English one's); without the log, the reserved rate, as before.
  const logged = await loggedUnits(
    deps.ch,
    deps.log,
    ending.map((e) => e.taskId),
    deps.cfg.smsLogTable,
  );
  for (const e of ending)
    released += (await settleTask(deps.db, e.taskId, e.sent, chargeByLanguage(e.sent, e.perMessage, logged?.get(e.taskId)))) ?? 0;
  return released;
}

/** Starts the ledger's background passes for a portal. */
export function startLedger(deps: Deps, opts: LedgerOptions = {}): RunningLedger {
  let running: Promise<{ released: number; refunded: number }> | undefined;
  const tick = () => {
    running ??= (async () => {
      let released = 0;
      let refunded = 0;
      try {
        released = await settleEnded(deps, opts);
      } catch (err) {
        deps.log.debug({ err }, 'ledger: ended tasks not settled this pass');
      }
      try {
        refunded = await refundFailed(deps);
      } catch (err) {
        deps.log.warn({ err }, 'ledger: failed numbers not refunded this pass');
      }
      return { released, refunded };
    })().finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void tick(), opts.tickMs ?? 10_000);
  timer.unref?.();
  // The triggers keep balances and entries equal; a balance written around them would show here.
  void unbalanced(deps.db)
    .then(
      (off) =>
        off.length &&
        deps.log.error({ balances: off.slice(0, 20), count: off.length }, 'ledger: balances that differ from the sum of their entries'),
    )
    .catch((err) => deps.log.warn({ err }, 'ledger: balance check failed'));
  return {
    tick,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
