import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, ident, list, selectRows, sql, type ClickHouseClient } from '@geo/infra';
import type { Carrier } from '@geo/ingest';
import { countMessage, type SmsJob } from '@geo/messaging';
import { alertJobId } from '../contract.ts';
import { Presence } from '../presence/presence.ts';
import { carrierNumber as number, engineFixture, gatewaysFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, offset, publishEvents, until } from '../testing/engine-kit.ts';
import { claimChunk, claimPart, claimSubject, type ClaimChunk } from './claims.ts';
import type { RunningEngine } from './run-engine.ts';

/**
 * Each person gets the language of their number's profile (#21), end to end: LOCATION events with
 * `lang` → alerting (presence, claims, one job template per carrier and language) → SMS_JOBS →
 * messaging (its own process) → the simulated SMSCs (their own process) → the send log, whose
 * segments are what the ledger settles a task by (portal `settleEnded` → `loggedUnits`).
 */
const TABLE = `sms_log_lang_${Date.now().toString(36)}`;
const CENTRE: [number, number] = [121.5, 29.9];

/** 34 Chinese characters: with 【应急管理局】 41, one UCS-2 SMS (70). */
const ZH = '台风红色预警：今夜至明晨有特大暴雨，请勿外出，远离危房和低洼地带。';
/** 144 GSM-7 letters: with [Hangzhou EMA] (16 septets) exactly 160, one SMS; with 【应急管理局】 151 UCS-2, three. */
const EN =
  'Typhoon red alert: extreme rain from tonight until morning. Stay indoors, keep away from old buildings and low ground. Call 110 for help now.'.padEnd(
    144,
    '!',
  );

interface LogRow {
  job_id: string;
  send_id: string;
  status: string;
  segments: number;
}

describe('each person gets their profile’s language, counted and charged per language (#21)', () => {
  const t = engineFixture('languages', { engine: false });
  const { received } = gatewaysFixture({ natsUrl: () => t.nats.url, clickhouseUrl: inject('clickhouseUrl'), sendLogTable: TABLE });
  let ch: ClickHouseClient;
  let engine: RunningEngine | undefined;

  beforeAll(() => {
    ch = connectClickHouse(inject('clickhouseUrl'));
  });
  afterAll(async () => {
    await ch?.command({ query: `DROP TABLE IF EXISTS ${TABLE}` }).catch(() => undefined);
    await ch?.close();
  });

  const logRows = (ids: string[]) =>
    selectRows<LogRow>(ch, sql`SELECT job_id, send_id, status, segments FROM ${ident(TABLE)} FINAL WHERE job_id IN ${list(ids)}`.text);

  it('sends English to an en profile and a roaming-in foreigner, Chinese to zh, none and mainland roamers; [Latin signature] keeps English GSM-7', async () => {
    engine = await t.startEngine('lang-1');
    const [en, zh, foreigner, roamer, local] = (['cmcc', 'cucc', 'ctcc', 'cmcc', 'cucc'] as const).map(number);
    const people: { msisdn: string; carrier: Carrier; over: { lang?: string; home?: string } }[] = [
      { msisdn: en!, carrier: 'cmcc', over: { lang: 'en', home: '330100' } },
      { msisdn: zh!, carrier: 'cucc', over: { lang: 'zh', home: '330100' } },
      // A Japanese visitor on a Chinese SIM: the task has no Japanese text, so English.
      { msisdn: foreigner!, carrier: 'ctcc', over: { lang: 'ja', home: '110100' } },
      // A mainland roamer from Chengdu: no language in the profile, Chinese.
      { msisdn: roamer!, carrier: 'cmcc', over: { home: '510100' } },
      { msisdn: local!, carrier: 'cucc', over: { home: '330200' } },
    ];
    await publishEvents(
      t.nc,
      people.map((p, k) => event(p.msisdn, p.carrier, offset(CENTRE, k * 50, 0), p.over)),
    );
    // Signed in Latin letters for English (the enterprise's approved "Hangzhou EMA"), and the same task without.
    const base = { content: ZH, contents: { en: EN }, signature: '应急管理局' };
    await engine.store.submit('t-lang-latin', circleTask(CENTRE, 2_000, { ...base, signatures: { en: 'Hangzhou EMA' } }));
    await engine.store.submit('t-lang-plain', circleTask(CENTRE, 2_000, base));

    const all = people.map((p) => p.msisdn);
    const jobs = async (task: string) => new Map((await jobsOf(t.nc, task)).map((j) => [j.msisdn, j]));
    await until(
      'both tasks sent to everyone',
      async () => (await jobs('t-lang-latin')).size === 5 && (await jobs('t-lang-plain')).size === 5,
      60_000,
    );
    const latin = await jobs('t-lang-latin');
    const plain = await jobs('t-lang-plain');
    const english = [en!, foreigner!];
    for (const m of all) {
      const wants = english.includes(m) ? EN : ZH;
      expect(latin.get(m)!.content, m).toBe(wants);
      expect(plain.get(m)!.content, m).toBe(wants);
      expect(latin.get(m)!.signature).toBe(english.includes(m) ? 'Hangzhou EMA' : '应急管理局');
      expect(plain.get(m)!.signature).toBe('应急管理局');
    }

    // As the handsets get them: GSM-7 (data_coding 0) for the Latin-signed English, UCS-2 (8) otherwise.
    await until('the gateways got all ten', async () => Object.values(await received(all)).flat().length === 10, 60_000);
    const got = await received(all);
    const of = (m: string, sig: string) => got[m]!.find((x) => x.text.includes(sig))!;
    expect(of(en!, '[Hangzhou EMA]')).toMatchObject({ text: `[Hangzhou EMA]${EN}`, parts: 1, dataCoding: 0 });
    expect(of(foreigner!, '[Hangzhou EMA]')).toMatchObject({ parts: 1, dataCoding: 0 });
    expect(of(en!, '【应急管理局】')).toMatchObject({ text: `【应急管理局】${EN}`, parts: 3, dataCoding: 8 });
    for (const m of [zh!, roamer!, local!])
      for (const x of got[m]!) expect(x).toMatchObject({ text: `【应急管理局】${ZH}`, parts: 1, dataCoding: 8 });

    // The send log's segments, per language: what the ledger settles each task by.
    const ids = (task: string) => all.map((m) => alertJobId(task, m));
    await until(
      'delivered in the send log',
      async () => (await logRows([...ids('t-lang-latin'), ...ids('t-lang-plain')])).filter((r) => r.status === 'delivered').length === 10,
      60_000,
    );
    const units = async (task: string) => {
      const rows = new Map((await logRows(ids(task))).map((r) => [r.job_id, r.segments]));
      const byLang = { zh: 0, en: 0 };
      for (const m of all) byLang[english.includes(m) ? 'en' : 'zh'] += rows.get(alertJobId(task, m))!;
      return byLang;
    };
    expect(await units('t-lang-latin')).toEqual({ zh: 3, en: 2 }); // 5 SMS for 5 people
    expect(await units('t-lang-plain')).toEqual({ zh: 3, en: 6 }); // the two English ones in 3 SMS each
    // And messaging's count (the portal's reservation uses the same) agrees with what went on the air.
    const count = (j: SmsJob) => countMessage(j.signature, j.content);
    expect(count(latin.get(en!)!)).toMatchObject({ ok: true, segments: 1, encoding: 'gsm7' });
    expect(count(plain.get(en!)!)).toMatchObject({ ok: true, segments: 3, encoding: 'ucs2' });
    expect(count(latin.get(zh!)!)).toMatchObject({ ok: true, segments: 1, encoding: 'ucs2' });
  });

  it('after a restart, gives the people of a stored claim their language from the claim, also when presence never heard it', async () => {
    await engine?.stop();
    engine = undefined;
    const [en, zh, fresh] = [number('cmcc'), number('cmcc'), number('cmcc')];
    const centre = offset(CENTRE, 20_000, 0);
    // Their LOCATION events name no language: only the claim log knows it.
    await publishEvents(
      t.nc,
      [en!, zh!, fresh!].map((m, k) => event(m, 'cmcc', offset(centre, k * 50, 0))),
    );
    // What an instance killed after claiming and before publishing leaves: chunks on the claim log,
    // with each person's profile language, and no job.
    const task = 't-lang-restart';
    const js = jetstream(t.nc);
    const byPart = new Map<number, { msisdn: string; lang: string }[]>();
    for (const p of [
      { msisdn: en!, lang: 'en' },
      { msisdn: zh!, lang: '--' },
    ])
      (byPart.get(claimPart(p.msisdn)) ?? byPart.set(claimPart(p.msisdn), []).get(claimPart(p.msisdn))!).push(p);
    for (const [part, ps] of byPart) {
      const chunk: ClaimChunk = {
        ...claimChunk(
          `ghost:${Date.now()}:${part}`,
          'ghost',
          Date.now(),
          ps.map((p) => ({ msisdn: p.msisdn, carrier: 'cmcc' as const })),
          100,
        ),
        langs: ps.map((p) => p.lang).join(''),
      };
      await js.publish(claimSubject(task, undefined, part), JSON.stringify(chunk));
    }

    const presence = new Presence();
    engine = await t.startEngine('lang-2', { presence });
    await engine.store.submit(task, circleTask(centre, 2_000, { content: ZH, contents: { en: EN }, signatures: { en: 'Hangzhou EMA' } }));
    const jobs = async (id: string) => new Map((await jobsOf(t.nc, id)).map((j) => [j.msisdn, j]));
    await until('the claimed two republished and the third sent', async () => (await jobs(task)).size === 3, 60_000);
    const sent = await jobs(task);
    expect(sent.get(en!)!.content).toBe(EN);
    expect(sent.get(en!)!.signature).toBe('Hangzhou EMA');
    expect(sent.get(zh!)!.content).toBe(ZH);
    expect(sent.get(fresh!)!.content).toBe(ZH);
    expect((await jobsOf(t.nc, task)).length).toBe(3); // nobody twice
    // Presence learnt the language from the claim, so the next task speaks it too.
    expect(presence.profile(presence.indexOf(en!)).lang).toBe('en');
    await engine.store.submit('t-lang-next', circleTask(centre, 2_000, { content: ZH, contents: { en: EN } }));
    await until('the next task sent', async () => (await jobs('t-lang-next')).size === 3, 60_000);
    expect((await jobs('t-lang-next')).get(en!)!.content).toBe(EN);
    expect((await jobs('t-lang-next')).get(zh!)!.content).toBe(ZH);
  });
});
