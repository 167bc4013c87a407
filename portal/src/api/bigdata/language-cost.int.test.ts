import { beforeAll, describe, expect, it } from 'vitest';
import { consoleFixture } from '../../test/console-fixture.ts';
import { chinaDayIn } from './cap/fixtures.ts';

/**
 * What the ledger reserves for a task, language by language (#21), over HTTP: each language's SMS is
 * costed as it is sent — its own signature (【翼讯通】 for Chinese, [EMA] for English when the form has
 * signatureEn) and exercise prefix — at the boundaries of one SMS and of one part (70 / 67 UCS-2,
 * 160 / 153 GSM-7). A task is reserved at its costliest language's SMS.
 *
 * 【翼讯通】 is 5 characters (UCS-2); [EMA] is 7 septets ([ and ] take two each).
 */
describe('a task’s reservation per message, each language costed with its own signature (PGlite + real NATS)', () => {
  const c = consoleFixture('portal-language-cost-test');
  let n = 0;
  const zh = (chars: number) => '台'.repeat(chars);
  const en = (letters: number) => 'x'.repeat(letters);
  const reservation = async (id: string) =>
    (
      await c.portal.deps.db.query<{ units: number; per_message: number }>(
        'SELECT units, per_message FROM bigdata_reservations WHERE task_id = $1',
        [id],
      )
    ).rows[0];
  const form = (over: Record<string, unknown>) => ({
    alertType: 'typhoon',
    region: { parts: [{ kind: 'circle', center: [120.16, 30.27], radiusM: 2000 }] },
    subject: `台风 计费 ${++n}`,
    content: '台风预警',
    signature: '翼讯通',
    startDate: chinaDayIn(0),
    endDate: chinaDayIn(1),
    frequency: 'once',
    quota: { cmcc: { total: 10, dailyCap: 10 } },
    authorizationLetter: c.letter,
    ...over,
  });
  const submit = async (over: Record<string, unknown>) => {
    const r = await c.admin('POST', '/api/bigdata/tasks', { form: form(over) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.id as string;
  };
  const english = (letters: number) => ({ texts: [{ language: 'en-US', content: en(letters) }] });

  beforeAll(async () => {
    await c.portal.deps.db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status) VALUES ('cost-en-sig', 'demo-enterprise', 'EMA', 'approved') ON CONFLICT DO NOTHING`,
    );
  });

  it.each([
    // Chinese only: 【翼讯通】 + 65 = 70, one SMS; + 66 = 71, two parts of 67; 134 two; 135 three.
    ['zh 65', { content: zh(65) }, 1],
    ['zh 66', { content: zh(66) }, 2],
    ['zh 129', { content: zh(129) }, 2],
    ['zh 130', { content: zh(130) }, 3],
    // A Latin text in the Chinese slot (a CAP alert in English only) is sent under 【翼讯通】: UCS-2.
    ['en-only 65', { content: en(65) }, 1],
    ['en-only 66', { content: en(66) }, 2],
  ] as const)('%s', async (_name, over, perMessage) => {
    const id = await submit(over);
    expect(await reservation(id)).toEqual({ per_message: perMessage, units: 10 * perMessage });
  });

  it.each([
    // English signed [EMA] (GSM-7): 7 + 153 = 160 one SMS; 161 two parts of 153; 306 two; 307 three.
    ['en 153 [EMA]', { ...english(153), signatureEn: 'EMA' }, 1],
    ['en 154 [EMA]', { ...english(154), signatureEn: 'EMA' }, 2],
    ['en 299 [EMA]', { ...english(299), signatureEn: 'EMA' }, 2],
    ['en 300 [EMA]', { ...english(300), signatureEn: 'EMA' }, 3],
    // Without signatureEn the English SMS carries 【翼讯通】 and is UCS-2: 70 one SMS, 71 two.
    ['en 65 【翼讯通】', english(65), 1],
    ['en 66 【翼讯通】', english(66), 2],
    ['en 129 【翼讯通】', english(129), 2],
    ['en 130 【翼讯通】', english(130), 3],
    // Both: the costlier of the two, each counted as sent.
    ['zh 130 + en 154 [EMA]', { content: zh(130), ...english(154), signatureEn: 'EMA' }, 3],
    ['zh 66 + en 300 [EMA]', { content: zh(66), ...english(300), signatureEn: 'EMA' }, 3],
    ['zh 66 + en 299 [EMA]', { content: zh(66), ...english(299), signatureEn: 'EMA' }, 2],
  ] as const)('%s', async (_name, over, perMessage) => {
    const id = await submit(over);
    expect(await reservation(id)).toEqual({ per_message: perMessage, units: 10 * perMessage });
  });

  it('follows an update of the text: when the English SMS becomes the costlier, it is costed as sent under [EMA]', async () => {
    // Chinese 130 (3 parts) over English 299 [EMA] (2): three units a message.
    const id = await submit({ content: zh(130), ...english(299), signatureEn: 'EMA' });
    expect(await reservation(id)).toEqual({ per_message: 3, units: 30 });
    // A short Chinese text leaves English the costlier: 2 units, not the 5 its letters would take under 【翼讯通】.
    const put = await c.admin('PUT', `/api/bigdata/tasks/${id}`, { content: '台风预警' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(await reservation(id)).toEqual({ per_message: 2, units: 20 });
  });

  it('reserves nothing for an exercise, whatever its texts', async () => {
    const id = await submit({ exercise: true, content: zh(130), ...english(300), signatureEn: 'EMA' });
    expect(await reservation(id)).toBeUndefined();
  });
});
