import { readFileSync } from 'node:fs';
import { installIngestAdminAreas } from './geofence/ingest-admin-areas.ts';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '@geo/infra';
import { TASK_STATES, WHY_SUBJECT, WhyReply, WhyRequest, whyAnswer, type TaskState } from './contract.ts';
import { TASKS_BUCKET, declareAlertingStreams } from './streams.ts';
import { TaskError, TaskStore } from './tasks/task-store.ts';

/**
 * Puts and controls alert tasks in the `alert_tasks` bucket until the portal does.
 *
 * @example
 * npx tsx alerting/src/cli.ts submit typhoon-1 task.json   # validated like the portal's submit
 * npx tsx alerting/src/cli.ts update typhoon-1 task.json   # new region or content while running
 * npx tsx alerting/src/cli.ts stop typhoon-1 "operator: all clear"
 * npx tsx alerting/src/cli.ts pause|resume typhoon-1
 * npx tsx alerting/src/cli.ts list | show typhoon-1
 * npx tsx alerting/src/cli.ts why typhoon-1 13800138000   # why that number did (not) get it
 */
const USAGE = `usage: cli.ts submit <id> <spec.json> | update <id> <spec.json> | stop <id> [reason] | pause <id> | resume <id> | list | show <id> | why <id> <msisdn>
NATS_URL selects the server (default nats://127.0.0.1:4222); ADMIN_BOUNDARIES_FILE an operator's boundaries file (GeoJSON by GB/T 2260 code) for areas named by code.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, id, arg] = argv;
  installIngestAdminAreas(undefined, { boundariesFile: process.env.ADMIN_BOUNDARIES_FILE || undefined });
  if (!cmd || cmd === 'help' || cmd === '--help') {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  const nc = await connectNats(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 'alerting-cli');
  try {
    await declareAlertingStreams(nc);
    const store = new TaskStore(await new Kvm(nc).open(TASKS_BUCKET));
    const need = (v: string | undefined, what: string) => {
      if (!v) throw new TaskError('invalid_spec', `missing ${what}\n${USAGE}`);
      return v;
    };
    const readSpec = (path: string) => JSON.parse(readFileSync(need(path, 'spec file'), 'utf8'));
    switch (cmd) {
      case 'submit':
        console.log(JSON.stringify(await store.submit(need(id, 'task id'), readSpec(arg)), null, 2));
        break;
      case 'update':
        console.log(JSON.stringify(await store.update(need(id, 'task id'), readSpec(arg)), null, 2));
        break;
      case 'stop':
      case 'pause':
      case 'resume': {
        const to: TaskState = cmd === 'stop' ? 'stopped' : cmd === 'pause' ? 'paused' : 'submitted';
        const t = await store.transition(need(id, 'task id'), to, cmd === 'stop' ? (arg ?? 'emergency stop (cli)') : undefined);
        console.log(t ? `${id}: ${t.state}` : `${id}: already ${to}`);
        break;
      }
      case 'list':
        for (const t of await store.list())
          console.log(`${t.id}\t${t.state}\tv${t.version}\t${t.spec.startDate}..${t.spec.endDate}\t${t.spec.subject}`);
        break;
      case 'why': {
        const req = WhyRequest.safeParse({ v: 1, taskId: need(id, 'task id'), msisdn: need(arg, 'number') });
        if (!req.success) throw new TaskError('invalid_spec', req.error.issues.map((i) => i.message).join('; '));
        const replies: WhyReply[] = [];
        for await (const m of await nc.requestMany(WHY_SUBJECT, JSON.stringify(req.data), {
          strategy: 'stall',
          stall: 300,
          maxWait: 3_000,
        })) {
          const r = WhyReply.safeParse(m.json());
          if (r.success) replies.push(r.data);
        }
        if (replies.length === 0) throw new TaskError('not_found', 'no alerting instance answered');
        // Every instance answers; the one that has seen the number knows.
        for (const r of replies)
          console.log(
            `${r.instance}\tshards ${r.shards.join(',')}\t${r.reason}${r.sentAt ? `\tsent ${new Date(r.sentAt).toISOString()}` : ''}${r.error ? `\terror: ${r.error}` : ''}`,
          );
        const a = whyAnswer(replies);
        console.log(`=> ${a.reason}${a.sentAt ? ` at ${new Date(a.sentAt).toISOString()}` : ''}`);
        break;
      }
      case 'show': {
        const t = await store.get(need(id, 'task id'));
        if (!t) throw new TaskError('not_found', `no task ${id}`);
        console.log(JSON.stringify(t.task, null, 2));
        break;
      }
      default:
        console.error(`unknown command ${cmd} (states: ${TASK_STATES.join(', ')})\n${USAGE}`);
        return 2;
    }
    return 0;
  } catch (err) {
    if (err instanceof TaskError) {
      console.error(`${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await nc.drain();
  }
}

process.exitCode = await main(process.argv.slice(2));
