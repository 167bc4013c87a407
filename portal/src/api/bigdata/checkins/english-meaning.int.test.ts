import { connectNats, type NatsConnection } from '@geo/infra';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Portal } from '../../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../../test/harness.ts';
import { AlertBus, setAlertBus } from '../alert-bus.ts';
import { chinaDayIn } from '../cap/fixtures.ts';
import { consoleApp, onApp, PNG_BYTES } from '../console-harness.ts';
import { BIGDATA_ROUTES } from '../index.ts';

/**
 * A check-in answer's English meaning (#21): an operator's own answer (家中有老人需要照顾) has no
 * meaning an English reader can be told from its Chinese label, so the English prompt said "3 for
 * option 3". The form's option takes `labelEn`, written into the English prompt of the stored,
 * reserved and sent text (over HTTP; the spec alerting gets from the bucket), Latin letters only so
 * the English SMS stays GSM-7.
 */
describe('a check-in answer’s English meaning (PGlite + real NATS)', () => {
  let portal: Portal;
  let nc: NatsConnection;
  let bus: AlertBus;
  let admin: ReturnType<typeof onApp>;
  let letter: string;
  let n = 0;
  const form = (options: Record<string, unknown>[]) => ({
    alertType: 'flood',
    region: { parts: [{ kind: 'circle', center: [120.16, 30.27], radiusM: 2000 }] },
    subject: `洪水 英文含义 ${++n}`,
    content: '洪水预警：今夜请转移到高处',
    texts: [{ language: 'en-US', content: 'Flood warning: move to higher ground tonight.' }],
    signature: '翼讯通',
    startDate: chinaDayIn(0),
    endDate: chinaDayIn(1),
    frequency: 'once',
    quota: { cmcc: { total: 10, dailyCap: 10 } },
    authorizationLetter: letter,
    checkIn: { options },
  });
  const SAFE = { code: '1', label: '安全' };
  const HELP = { code: '2', label: '需要帮助', help: true };

  beforeAll(async () => {
    portal = await testPortal();
    nc = await connectNats(inject('natsUrl'), 'portal-checkin-english-test');
    bus = await AlertBus.open(nc);
    setAlertBus(portal.deps, bus);
    admin = onApp(consoleApp(portal, BIGDATA_ROUTES), await loginAdmin(portal));
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    letter = (await admin('POST', '/api/bigdata/letters', fd)).body.id;
  }, START_TIMEOUT);
  afterAll(async () => {
    await nc?.drain();
    await portal?.stop();
  });

  it('tells an English reader an answer’s meaning as the operator wrote it, in the text sent and stored', async () => {
    const r = await admin('POST', '/api/bigdata/tasks', {
      form: form([
        SAFE,
        HELP,
        { code: '3', label: '家中有老人需要照顾', labelEn: 'if an elderly person at home needs care' },
        { code: '4', label: '已转移到亲友家', labelEn: 'Moved to family' },
      ]),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const en =
      'Flood warning: move to higher ground tonight. Reply 1 if safe, 2 if you need help, 3 if an elderly person at home needs care, 4 for Moved to family.';
    const sent = await bus.get(r.body.id as string);
    expect(sent?.spec.contents?.en).toBe(en);
    const row = await portal.deps.db.query<{ spec: unknown }>('SELECT spec FROM bigdata_tasks WHERE id = $1', [r.body.id]);
    const spec = (typeof row.rows[0]!.spec === 'string' ? JSON.parse(row.rows[0]!.spec) : row.rows[0]!.spec) as {
      content: string;
      contents: { en: string };
    };
    expect(spec.contents.en).toBe(en);
    // The Chinese text keeps the Chinese labels.
    expect(spec.content).toBe(
      '洪水预警：今夜请转移到高处。回复1表示安全，回复2表示需要帮助，回复3表示家中有老人需要照顾，回复4表示已转移到亲友家。',
    );
  });

  it('refuses an English meaning that is not in Latin letters, in Chinese, naming the field', async () => {
    const r = await admin('POST', '/api/bigdata/tasks', {
      form: form([SAFE, HELP, { code: '3', label: '被困', labelEn: '被困 trapped' }]),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.details).toContainEqual({
      path: 'checkIn.options.2.labelEn',
      message: expect.stringContaining('英文含义只能包含英文字母'),
    });
  });
});
