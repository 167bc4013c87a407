import { createSignal } from 'solid-js';
import { get } from '../../lib/api.ts';

/**
 * How many tasks wait for this account's approval (#21 maker-checker; #23 walk: nothing told a
 * checker that a task waited, so an alert could sit unsent until someone happened to look). The
 * console's menu shows it beside 任务; the task list refreshes it after each decision.
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
