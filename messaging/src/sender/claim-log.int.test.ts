import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { connectNats, jetstreamManager, type NatsConnection } from '@geo/infra';
import { until } from '@geo/infra/testing';
import { ClaimLog, jobsRedeliverableSince } from './claim-log.ts';
import { messagingNames } from '../names.ts';
import { declareMessagingStreams } from '../streams.ts';

const ns = `cl${Date.now().toString(36)}`;
let nc: NatsConnection;
const open: ClaimLog[] = [];
let n = 0;

const claimLog = async (since: () => Promise<number | undefined> = async () => undefined, stream = `${ns.toUpperCase()}_CLAIMS`) => {
  const log = await ClaimLog.open(nc, { stream, subject: `${stream.toLowerCase()}.claims`, since });
  open.push(log);
  return log;
};

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'claim-log-test');
});

afterAll(async () => {
  for (const l of open) await l.close();
  await nc?.drain();
});

describe('write-ahead claims, one JetStream message per batch', () => {
  it('stores the claims made in one turn of the event loop in one message, and refuses a second claim of the same job', async () => {
    const stream = `${ns.toUpperCase()}_B${++n}`;
    const log = await claimLog(undefined, stream);
    const ids = Array.from({ length: 300 }, (_, i) => `job-${i}`);
    const first = await Promise.all(ids.map((id) => log.claim(id)));
    expect(first.every(Boolean)).toBe(true);
    expect(log.counts.batches).toBe(1);
    expect((await (await jetstreamManager(nc)).streams.info(stream)).state.messages).toBe(1);
    expect(await log.claim('job-7')).toBe(false);
    expect(log.counts.batches).toBe(1);
  });

  it('rebuilds the claimed set on start, so a restarted sender refuses what was claimed before it died', async () => {
    const stream = `${ns.toUpperCase()}_R${++n}`;
    const before = await claimLog(undefined, stream);
    await Promise.all(['a', 'b', 'c'].map((id) => before.claim(id)));
    // No close: a kill -9 leaves the stream as it is.
    const after = await claimLog(undefined, stream);
    expect(after.counts.rebuilt).toBe(3);
    expect(await after.claim('b')).toBe(false);
    expect(await after.claim('d')).toBe(true);
    expect(after.claimedAt('a')).toBeGreaterThan(0);
  });

  it('learns claims written by another instance while it runs', async () => {
    const stream = `${ns.toUpperCase()}_T${++n}`;
    const one = await claimLog(undefined, stream);
    const two = await claimLog(undefined, stream);
    expect(await one.claim('shared-1')).toBe(true);
    const end = Date.now() + 10_000;
    while (!two.has('shared-1') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(await two.claim('shared-1')).toBe(false);
  });

  it("keeps learning others' claims after its tail's iterator ended (a 400 to its pull)", async () => {
    const stream = `${ns.toUpperCase()}_E${++n}`;
    let inbox: string | undefined;
    const pulls = nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${stream}.*`, {
      callback: (_err, m) => {
        if (m.reply && inbox === undefined) inbox = m.reply;
      },
    });
    const restarts: string[] = [];
    const one = await ClaimLog.open(nc, {
      stream,
      subject: `${stream.toLowerCase()}.claims`,
      since: async () => undefined,
      onRestart: (r) => restarts.push(r),
    });
    open.push(one);
    await until("the tail's pull seen", () => inbox !== undefined, 10_000);
    pulls.unsubscribe();
    const two = await claimLog(undefined, stream);
    // The answer nats-server gives a pull it cannot take: nats.js ends the iterator with it.
    nc.publish(inbox!, new Uint8Array(), { headers: headers(400, 'Bad Request') });
    await until('the tail opened again', () => restarts.length > 0, 10_000);
    expect(await two.claim('after-400')).toBe(true);
    await until('the claim made by the other instance learnt', () => one.has('after-400'), 10_000);
    expect(one.tailState()).toMatchObject({ consuming: true });
  });

  it("learns others' claims again within seconds when its tail's consumer is lost on the server (#19: ~27 s after a node kill)", async () => {
    const stream = `${ns.toUpperCase()}_D${++n}`;
    const restarts: string[] = [];
    const one = await ClaimLog.open(nc, {
      stream,
      subject: `${stream.toLowerCase()}.claims`,
      since: async () => undefined,
      onRestart: (r) => restarts.push(r),
    });
    open.push(one);
    const two = await claimLog(undefined, stream);
    expect(await two.claim('before-loss')).toBe(true);
    await until('the first claim learnt', () => one.has('before-loss'), 10_000);
    // The tails are ephemeral consumers, as a node kill takes them: one's pulls then get a 409
    // "Consumer Deleted", and nats.js waits for two missed idle heartbeats (30 s) before it makes a
    // new one. Both are deleted; two's is opened again as well.
    const jsm = await jetstreamManager(nc);
    for await (const ci of jsm.consumers.list(stream)) await jsm.consumers.delete(stream, ci.name);
    expect(await two.claim('after-loss')).toBe(true);
    // Before: the watchdog looked first after 20 s without a delivery and stalled it 5 s later.
    await until('the claim made after the loss learnt', () => one.has('after-loss'), 15_000);
    expect(restarts).toContain('stalled');
  }, 30_000);

  it('withdraws a claim whose publish timed out but was stored, so the job is not taken as claimed when it comes again', async () => {
    const stream = `${ns.toUpperCase()}_L${++n}`;
    const subject = `${stream.toLowerCase()}.claims`;
    // Acks are awaited 1 ms: the claims are stored, the claimer is told they were not (as at load 26,
    // when a claim's publish outlived the client's 5 s and the job waited UNCERTAIN_RESOLVE_MS).
    const slow = await ClaimLog.open(nc, { stream, subject, since: async () => undefined, claimTimeoutMs: 1 });
    open.push(slow);
    let late: string | undefined;
    for (let i = 0; i < 20 && !late; i++) {
      const id = `late-${i}`;
      if (!(await slow.claim(id).catch(() => false))) late = id;
    }
    expect(late).toBeDefined();
    expect(slow.has(late!)).toBe(false);
    // Another instance, or this one restarted: the claim stored late does not stand.
    const fresh = await claimLog(undefined, stream);
    const marker = `marker-${Date.now()}`;
    expect(await fresh.claim(marker)).toBe(true);
    await until('the slow log read past the marker', () => slow.has(marker), 10_000);
    expect(slow.has(late!)).toBe(false);
    expect(fresh.has(late!)).toBe(false);
    const again = await claimLog(undefined, stream);
    expect(again.has(late!)).toBe(false);
    expect(await again.claim(late!)).toBe(true);
  });

  it('reads only claims from the redeliverable window (with a margin) when told where it starts', async () => {
    const stream = `${ns.toUpperCase()}_W${++n}`;
    const old = await claimLog(undefined, stream);
    await old.claim('old-job');
    await new Promise((r) => setTimeout(r, 300));
    const cut = Date.now();
    await old.claim('new-job');
    const log = await ClaimLog.open(nc, { stream, subject: `${stream.toLowerCase()}.claims`, since: async () => cut, marginMs: 100 });
    open.push(log);
    expect(log.has('new-job')).toBe(true);
    expect(log.has('old-job')).toBe(false);
  });

  it('dates the redeliverable window from the first job above the consumer ack floor', async () => {
    const names = messagingNames(`${ns}w`);
    await declareMessagingStreams(nc, 1, names);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(names.jobsStream, { durable_name: 'c', ack_policy: 'explicit' as never });
    const js = jetstream(nc);
    await js.publish(names.jobSubject('cmcc'), 'one');
    await new Promise((r) => setTimeout(r, 50));
    const second = await js.publish(names.jobSubject('cmcc'), 'two');
    const c = await js.consumers.get(names.jobsStream, 'c');
    const m = await c.next();
    m!.ack();
    await m!.ackAck();
    const since = await jobsRedeliverableSince(nc, names.jobsStream, 'c');
    const two = await jsm.streams.getMessage(names.jobsStream, { seq: second.seq });
    expect(since).toBe(two!.time.getTime());
    const m2 = await c.next();
    await m2!.ackAck();
    expect(await jobsRedeliverableSince(nc, names.jobsStream, 'c')).toBeGreaterThanOrEqual(two!.time.getTime());
  });
});
