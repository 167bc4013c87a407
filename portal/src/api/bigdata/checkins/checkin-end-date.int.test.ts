import { connectNats, type NatsConnection } from '@geo/infra';
import { startNatsServer, until, type RunningNats } from '@geo/infra/testing';
import { declareMessagingStreams, ExtensionRegistry, messagingNames, type SmsReply } from '@geo/messaging';
import { jetstream } from '@nats-io/jetstream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../../test/harness.ts';
import { AlertBus, setAlertBus } from '../alert-bus.ts';
import { chinaDayIn } from '../cap/fixtures.ts';
import { PNG_BYTES } from '../console-harness.ts';
import { chinaTime } from '../recipients.ts';
import { startCheckIns, type CheckInRuntime } from './runtime.ts';
import { CHECKIN_OPEN_AFTER_END_MS, endOfDay } from './store.ts';

/**
 * A check-in closes 3 days after its task's last day (#21); the last day can change while the task
 * runs (PUT /api/bigdata/tasks/{id}, and a CAP Update, both `updateLiveTask`). The closing time moves
 * with it, in the portal (answers recorded) and in messaging's extension registry (late answers
 * counted `checkin_closed`). Answers reach the portal as messaging publishes them (SmsReply on its
 * events stream), here published directly with the time each answer arrived.
 */
describe('a check-in’s closing time follows its task’s end date (PGlite + real NATS)', () => {
  let dir: string;
  let nats: RunningNats;
  let nc: NatsConnection;
  let portal: Portal;
  let checkIns: CheckInRuntime;
  let admin: Client;
  let letter: string;
  let registry: ExtensionRegistry;
  let seq = 0;
  const names = messagingNames();
  const closes = (endDate: string) => endOfDay(endDate) + CHECKIN_OPEN_AFTER_END_MS;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'checkin-end-'));
    nats = await startNatsServer({ dataDir: dir });
    nc = await connectNats(nats.url, 'portal-checkin-end-date');
    await declareMessagingStreams(nc);
    portal = await testPortal();
    setAlertBus(portal.deps, await AlertBus.open(nc));
    checkIns = await startCheckIns(portal.deps, { nc, tickMs: 60_000 });
    registry = await ExtensionRegistry.open(nc, names.extensionsBucket);
    admin = await loginAdmin(portal);
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    letter = (await admin.reqRaw('POST', '/api/bigdata/letters', fd)).body.id;
  }, START_TIMEOUT);
  afterAll(async () => {
    await checkIns?.stop();
    await portal?.stop();
    await nc?.drain();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function submit(endDate: string): Promise<{ id: string; extension: string }> {
    const r = await admin.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'flood',
        region: { parts: [{ kind: 'circle', center: [120.16, 30.27], radiusM: 2000 }] },
        subject: `洪水 报平安 ${++seq}`,
        content: '洪水预警：请回复1表示安全，回复2表示需要帮助。',
        signature: '翼讯通',
        startDate: chinaDayIn(0),
        endDate,
        frequency: 'once',
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        authorizationLetter: letter,
        checkIn: {
          options: [
            { code: '1', label: '安全' },
            { code: '2', label: '需要帮助', help: true },
          ],
        },
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const ci = await admin.req('GET', `/api/bigdata/tasks/${r.body.id}/checkin`);
    return { id: r.body.id, extension: ci.body.extension };
  }
  const summary = async (id: string) => (await admin.req('GET', `/api/bigdata/tasks/${id}/checkin`)).body;
  const moveEnd = async (id: string, endDate: string) => {
    const r = await admin.req('PUT', `/api/bigdata/tasks/${id}`, { endDate });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  /** An answer from `from` arriving at `at`, as messaging publishes it. */
  const answer = async (t: { id: string; extension: string }, from: string, text: string, at: number) => {
    const reply: SmsReply = {
      replyId: `end-${t.id}-${from}-${at}`,
      enterpriseId: 'demo-enterprise',
      sendId: t.id,
      from,
      to: `106571${t.extension}`,
      text,
      carrier: 'cmcc',
      extension: t.extension,
      at,
    };
    await jetstream(nc).publish(names.replySubject('demo-enterprise'), JSON.stringify(reply));
  };
  /** Waits until `from`'s marker answer is recorded: the consumer handles answers in order, so every earlier one was handled too. */
  const settled = async (t: { id: string; extension: string }, marker: string) => {
    await answer(t, marker, '1', Date.now());
    await until(`marker ${marker} recorded`, async () => (await summary(t.id)).people >= 1 && (await people(t.id)).has(marker), 30_000);
  };
  const people = async (id: string): Promise<Set<string>> =>
    new Set(
      (
        await portal.deps.db.query<{ msisdn: string }>('SELECT DISTINCT msisdn FROM bigdata_checkin_replies WHERE task_id = $1', [id])
      ).rows.map((r) => r.msisdn),
    );

  it('moves the closing time with a longer end date, in the portal and in messaging’s registry: an answer after the old closing counts', async () => {
    const t = await submit(chinaDayIn(0));
    expect((await summary(t.id)).closesAt).toBe(chinaTime(closes(chinaDayIn(0))));
    await moveEnd(t.id, chinaDayIn(2));
    expect(await summary(t.id)).toMatchObject({ open: true, closesAt: chinaTime(closes(chinaDayIn(2))) });
    const held = await registry.state(t.extension);
    expect(held.state).toBe('live');
    expect(held.state === 'live' && held.entry.closedAt).toBe(closes(chinaDayIn(2)));

    // An hour after the first closing time, well before the new one.
    await answer(t, '13800138001', '2 被困', closes(chinaDayIn(0)) + 3_600_000);
    await until('the answer after the old closing recorded', async () => (await people(t.id)).has('13800138001'), 30_000);
    const s = await summary(t.id);
    expect(s.options.find((o: { code: string }) => o.code === '2').people).toBe(1);
  });

  it('shortening the end date keeps the answers already counted and closes at the new end', async () => {
    const t = await submit(chinaDayIn(2));
    // An answer that came after what will be the new closing time, while the task still ran to day +2.
    await answer(t, '13800138002', '1', closes(chinaDayIn(1)) + 3_600_000);
    await until('the answer recorded', async () => (await people(t.id)).has('13800138002'), 30_000);

    await moveEnd(t.id, chinaDayIn(1));
    expect((await summary(t.id)).closesAt).toBe(chinaTime(closes(chinaDayIn(1))));
    const held = await registry.state(t.extension);
    expect(held.state === 'live' && held.entry.closedAt).toBe(closes(chinaDayIn(1)));
    // Counted still; the same time now is after closing, so a new answer then is not recorded.
    await answer(t, '13800138003', '1', closes(chinaDayIn(1)) + 3_600_000);
    await settled(t, '13800138009');
    const who = await people(t.id);
    expect(who.has('13800138002')).toBe(true);
    expect(who.has('13800138003')).toBe(false);
    expect((await summary(t.id)).options.find((o: { code: string }) => o.code === '1').people).toBe(2);
  });

  it('leaves a check-in closed by hand closed when the end date moves', async () => {
    const t = await submit(chinaDayIn(0));
    const closed = await admin.req('POST', `/api/bigdata/tasks/${t.id}/checkin/close`);
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    const at = (await summary(t.id)).closesAt;
    await moveEnd(t.id, chinaDayIn(2));
    expect(await summary(t.id)).toMatchObject({ open: false, closesAt: at });
    const held = await registry.state(t.extension);
    expect(held.state).toBe('closed');
  });
});
