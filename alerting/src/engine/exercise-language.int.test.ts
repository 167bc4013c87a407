import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { answers200, freePort, startTsxProcess, untilReady, type TsxProcess } from '@geo/infra/testing';
import type { Carrier } from '@geo/ingest';
import { circleTask, event, jobsOf, offset, ownNats, publishEvents, startEngine, until, type OwnNats } from '../testing/engine-kit.ts';
import type { RunningEngine } from './run-engine.ts';

/**
 * An exercise in two languages (#21), end to end: alerting → SMS_JOBS → messaging (its own process)
 * → the simulated SMSC (its own process). The visitor's English SMS begins with [EXERCISE] and stays
 * GSM-7 (one SMS of 160 septets); the Chinese one begins with 【演练】 (UCS-2).
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CENTRE: [number, number] = [121.3, 29.7];
const PREFIX: Record<Carrier, string> = { cmcc: '138', cucc: '186', ctcc: '189' };
const number = (c: Carrier) => PREFIX[c] + String(Math.floor(Math.random() * 1e8)).padStart(8, '0');

const ZH = '台风演练：请按预案到最近的避难场所。';
/** 131 letters: [Hangzhou EMA] (16 septets) + [EXERCISE] (13) + 131 = 160, one GSM-7 SMS. */
const EN =
  'Typhoon drill: please go to the nearest shelter as planned. This is an exercise, no real typhoon is coming. Thank you for taking part.'
    .padEnd(131, '.')
    .slice(0, 131);

interface SmscMessage {
  destination: string;
  text: string;
  parts: number;
  dataCoding: number;
}

describe('an English exercise SMS at the SMSC', () => {
  let nats: OwnNats;
  let smsc: TsxProcess;
  let messaging: TsxProcess;
  let smscHttp: string;
  let engine: RunningEngine | undefined;
  const table = `sms_log_drill_${Date.now().toString(36)}`;

  beforeAll(async () => {
    nats = await ownNats('drill-lang');
    const ports = { cmcc: await freePort(), cucc: await freePort(), ctcc: await freePort() };
    const gateways = { SMSC_PORT_CMCC: String(ports.cmcc), SMSC_PORT_CUCC: String(ports.cucc), SMSC_PORT_CTCC: String(ports.ctcc) };
    const smscHealth = await freePort();
    smscHttp = `http://127.0.0.1:${smscHealth}`;
    smsc = startTsxProcess('smsc-sim', 'messaging/src/smsc-sim/main.ts', {
      cwd: ROOT,
      env: { NATS_URL: nats.url, HEALTH_PORT: String(smscHealth), SMSC_SUCCESS_RATE: '1', SMSC_RECEIPT_DELAY_MS: '10', ...gateways },
    });
    await untilReady(smsc, 'healthy', answers200(`${smscHttp}/healthz`), 120_000);
    const health = await freePort();
    messaging = startTsxProcess('messaging', 'messaging/src/main.ts', {
      cwd: ROOT,
      env: { NATS_URL: nats.url, CLICKHOUSE_URL: inject('clickhouseUrl'), HEALTH_PORT: String(health), SEND_LOG_TABLE: table, ...gateways },
    });
    await untilReady(messaging, 'healthy', answers200(`http://127.0.0.1:${health}/healthz`), 120_000);
  }, 240_000);

  afterAll(async () => {
    await engine?.stop();
    await messaging?.stop(5_000);
    await smsc?.stop(5_000);
    await nats?.close();
  }, 60_000);

  it('arrives as GSM-7 behind [EXERCISE], in one SMS; the Chinese one behind 【演练】', async () => {
    engine = await startEngine(nats.nc, 'drill-1');
    const [visitor, local] = [number('cmcc'), number('cucc')];
    await publishEvents(nats.nc, [
      event(visitor, 'cmcc', CENTRE, { lang: 'en', home: '330100' }),
      event(local, 'cucc', offset(CENTRE, 50, 0), { home: '330200' }),
    ]);
    await engine.store.submit(
      't-drill-en',
      circleTask(CENTRE, 2_000, {
        content: ZH,
        contents: { en: EN },
        signature: '应急管理局',
        signatures: { en: 'Hangzhou EMA' },
        exercise: true,
      }),
    );
    await until('both sent', async () => (await jobsOf(nats.nc, 't-drill-en')).length === 2, 60_000);
    const received = async (): Promise<Record<string, SmscMessage[]>> =>
      (await (
        await fetch(`${smscHttp}/messages/by-destination`, { method: 'POST', body: JSON.stringify([visitor, local]) })
      ).json()) as Record<string, SmscMessage[]>;
    await until('the gateways got both', async () => Object.values(await received()).flat().length === 2, 60_000);
    const got = await received();
    expect(got[visitor]).toEqual([expect.objectContaining({ text: `[Hangzhou EMA][EXERCISE] ${EN}`, parts: 1, dataCoding: 0 })]);
    expect(got[local]).toEqual([expect.objectContaining({ text: `【应急管理局】【演练】${ZH}`, parts: 1, dataCoding: 8 })]);
  });
});
