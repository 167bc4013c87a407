import { fileURLToPath } from 'node:url';
import { answers200, freePort, startTsxProcess, untilReady, type TsxProcess } from '@geo/infra/testing';
import type { ConsoleCaller } from '../../../test/console-fixture.ts';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const H = 3_600_000;

/**
 * alerting as its entry point runs it, for the what-if tests (#20): `alerting/src/main.ts` on
 * `natsUrl`, reading insight's history at `clickhouseUrl` (a database of the file's own), ready once
 * it is healthy and answers the portal's 回放预演 as `asker` (a 200 to a small draft). Its health
 * answers once the engine runs, a moment before the what-if responder subscribes: a test asking at
 * once got 503 没有预警服务实例应答回放请求.
 */
export async function startWhatIfAlerting(
  instance: string,
  opts: { natsUrl: string; clickhouseUrl: string; asker: ConsoleCaller },
): Promise<TsxProcess> {
  const health = await freePort();
  const alerting = startTsxProcess('alerting', 'alerting/src/main.ts', {
    cwd: ROOT,
    env: { NATS_URL: opts.natsUrl, CLICKHOUSE_URL: opts.clickhouseUrl, HEALTH_PORT: String(health), INSTANCE_ID: instance },
  });
  const healthy = answers200(`http://127.0.0.1:${health}/healthz`);
  const probe = {
    form: {
      alertType: 'rainstorm',
      region: { parts: [{ kind: 'circle', center: [120.16, 30.25], radiusM: 500 }] },
      startDate: '2030-01-01',
      endDate: '2030-01-02',
      frequency: 'once',
      quota: { cmcc: { total: 10, dailyCap: 10 } },
    },
    from: Date.now() - 2 * H,
    to: Date.now() - H,
    bucketMin: 60,
  };
  const answers = async () => (await opts.asker('POST', '/api/bigdata/what-if', probe)).status === 200;
  await untilReady(alerting, 'healthy, answering what-if', async () => (await healthy()) && (await answers()), 180_000);
  return alerting;
}
