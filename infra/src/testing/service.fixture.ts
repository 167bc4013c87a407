// A service for service.int.test.ts: its /healthz on HEALTH_PORT says ok at once (no checks), as a
// real service's does before its work is ready, and adds a `work` check after WORK_AFTER_MS.
import { startServiceHttp } from '../runtime/service-http.ts';

const http = await startServiceHttp('fixture', Number(process.env.HEALTH_PORT));
console.log('health server up');
setTimeout(
  () => {
    http.addCheck('work', () => ({ ok: true }));
    console.log('work ready');
  },
  Number(process.env.WORK_AFTER_MS ?? 500),
);
