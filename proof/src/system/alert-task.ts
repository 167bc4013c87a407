import { Kvm } from '@nats-io/kv';
import { connectNats } from '@geo/infra';
import { TASKS_BUCKET, TaskStore, declareAlertingStreams, shanghaiDate, type AlertTask, type AlertTaskSpecInput } from '@geo/alerting';

/**
 * Submits an alert task the way the portal does (the `alert_tasks` bucket, validated at submit) and
 * waits until alerting has moved it to `running`.
 */
export async function submitAndRun(natsUrl: string, id: string, spec: AlertTaskSpecInput, timeoutMs = 60_000): Promise<AlertTask> {
  const nc = await connectNats(natsUrl, 'proof-task');
  try {
    await declareAlertingStreams(nc);
    const store = new TaskStore(await new Kvm(nc).open(TASKS_BUCKET));
    await store.submit(id, spec);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const t = await store.get(id);
      if (t?.task.state === 'running') return t.task;
      if (t && ['rejected', 'stopped', 'completed'].includes(t.task.state))
        throw new Error(`task ${id} is ${t.task.state}: ${t.task.reason ?? ''}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`task ${id} not running after ${timeoutMs} ms`);
  } finally {
    await nc.close();
  }
}

/** Today and tomorrow in Asia/Shanghai: a task that stays in its dates through a run near midnight. */
export function taskDates(now = Date.now()): { startDate: string; endDate: string } {
  return { startDate: shanghaiDate(now), endDate: shanghaiDate(now + 86_400_000) };
}
