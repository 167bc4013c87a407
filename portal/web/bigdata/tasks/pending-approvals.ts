import { createSignal } from 'solid-js';
import { get } from '../../lib/api.ts';

/**
 * How many tasks wait for this account's approval (#21 maker-checker; #23 walk: nothing told a
 * checker that a task waited, so an alert could sit unsent until someone happened to look). The
 * portal's top bar and the console's menu show it; the task list refreshes it after each decision.
 */
const [count, setCount] = createSignal(0);
export const pendingApprovals = count;

/** Asks the list of 待审批 tasks and counts those this account may decide (not its own). */
export async function refreshPendingApprovals(): Promise<void> {
  try {
    const r = await get<{ items: { canApprove?: boolean }[] }>('/api/bigdata/tasks?state=pending_approval&pageSize=100');
    setCount(r.items.filter((t) => t.canApprove).length);
  } catch {
    // The count is a hint: a failed look leaves the last one until the next.
  }
}

const EVERY_MS = 30_000;
let watchers = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/**
 * Keeps the count fresh while anything shows it (one poll however many do): asks now and every 30 s.
 * @returns stop watching (the poll ends with the last watcher).
 * @example onMount(() => can('bigdata.approve') && onCleanup(watchPendingApprovals()))
 */
export function watchPendingApprovals(): () => void {
  watchers++;
  void refreshPendingApprovals();
  timer ??= setInterval(() => void refreshPendingApprovals(), EVERY_MS);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    if (--watchers === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}
