import { describe, expect, inject, it } from 'vitest';
import { carrierNumber as number, engineFixture, gatewaysFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, offset, publishEvents, until } from '../testing/engine-kit.ts';

/**
 * An exercise in two languages (#21), end to end: alerting → SMS_JOBS → messaging (its own process)
 * → the simulated SMSC (its own process). The visitor's English SMS begins with [EXERCISE] and stays
 * GSM-7 (one SMS of 160 septets); the Chinese one begins with 【演练】 (UCS-2).
 */
const CENTRE: [number, number] = [121.3, 29.7];

const ZH = '台风演练：请按预案到最近的避难场所。';
/** 131 letters: [Hangzhou EMA] (16 septets) + [EXERCISE] (13) + 131 = 160, one GSM-7 SMS. */
const EN =
  'Typhoon drill: please go to the nearest shelter as planned. This is an exercise, no real typhoon is coming. Thank you for taking part.'
    .padEnd(131, '.')
    .slice(0, 131);

describe('an English exercise SMS at the SMSC', () => {
  const t = engineFixture('drill-lang', { engine: false });
  const table = `sms_log_drill_${Date.now().toString(36)}`;
  const gateways = gatewaysFixture({
    natsUrl: () => t.nats.url,
    clickhouseUrl: inject('clickhouseUrl'),
    sendLogTable: table,
  });

  it('arrives as GSM-7 behind [EXERCISE], in one SMS; the Chinese one behind 【演练】', async () => {
    const engine = await t.startEngine('drill-1');
    const [visitor, local] = [number('cmcc'), number('cucc')];
    await publishEvents(t.nc, [
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
    await until('both sent', async () => (await jobsOf(t.nc, 't-drill-en')).length === 2, 60_000);
    const received = () => gateways.received([visitor, local]);
    await until('the gateways got both', async () => Object.values(await received()).flat().length === 2, 60_000);
    const got = await received();
    expect(got[visitor]).toEqual([expect.objectContaining({ text: `[Hangzhou EMA][EXERCISE] ${EN}`, parts: 1, dataCoding: 0 })]);
    expect(got[local]).toEqual([expect.objectContaining({ text: `【应急管理局】【演练】${ZH}`, parts: 1, dataCoding: 8 })]);
  });
});
