import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, preferredOwner, selectRows } from '@geo/infra';
import { freePort } from '@geo/infra/testing';
import { smsJobSubject, type SmsJobBatch } from '@geo/messaging';
import { startSystem, type RunningSystem } from '../system/system.ts';
import { ServiceProcess, tail } from '../system/service-process.ts';
import { waitQuiet } from '../system/quiesce.ts';
import type { ReceivedMessage } from '../system/smsc-control.ts';

/**
 * Issue 19, messaging: two instances share each carrier's binds and rate, and one of them is
 * killed with SIGKILL in the middle of a batch send and not restarted. The simulated SMSCs enforce
 * what the carrier grants the account, as the strictest peers do (2 binds at once, a third refused;
 * 150 submit_sm in any 1,000 ms, more throttled) and keep every message they accepted: the ground
 * truth. The survivor takes the dead instance's bind slots over when their leases expire, and its
 * jobs when NATS hands them out again: those it had on the wire are resolved from their receipts
 * (which the SMSC now gives the survivor's binds), the rest sent. Every job ends delivered once,
 * nothing reaches a handset twice, and the limits hold throughout.
 */

const PER_CARRIER = { cmcc: 2400, cucc: 300, ctcc: 300 } as const;
const BATCH = 100;
const BINDS = 2;
const RATE = 150;
const say = (msg: string) => console.log(`[msg-instances ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const prefix = { cmcc: '1380', cucc: '1860', ctcc: '1890' } as const;
const carriers = Object.keys(PER_CARRIER) as (keyof typeof PER_CARRIER)[];
const numbers = carriers.flatMap((c) => Array.from({ length: PER_CARRIER[c] }, (_, i) => `${prefix[c]}${String(i).padStart(7, '0')}`));

/** Two instance ids between which rendezvous hashing splits cmcc's slots, so the killed one was sending. */
function splitIds(tag: string): [string, string] {
  for (let i = 0; ; i++) {
    const ids = [`${tag}-a${i}`, `${tag}-b${i}`];
    if (preferredOwner('cmcc-0', ids) !== preferredOwner('cmcc-1', ids)) return [ids[0]!, ids[1]!];
  }
}

describe('two messaging instances, one killed with SIGKILL mid-send', () => {
  let sys: RunningSystem | undefined;
  let second: ServiceProcess | undefined;
  let received: Map<string, ReceivedMessage[]>;
  let logged: { status: string; n: string }[];
  let stats: Awaited<ReturnType<RunningSystem['smsc']['stats']>>;
  let tookMs = 0;
  let uncertain = 0;

  beforeAll(async () => {
    const [a, b] = splitIds(`drill${Date.now().toString(36)}`);
    const shared = {
      ACK_WAIT_MS: '10000',
      UNCERTAIN_RESOLVE_MS: '20000',
      SMSC_BINDS: String(BINDS),
      BIND_LEASE_TTL_MS: '3000',
      SMSC_RATE_CMCC: String(RATE),
      SMSC_RATE_CUCC: String(RATE),
      SMSC_RATE_CTCC: String(RATE),
      // Two processes, the SMSCs, NATS and ClickHouse on two shared cores: arrivals at the SMSC are
      // up to a few hundred ms uneven, and it counts arrivals (see messaging/src/smpp/rate-window.ts).
      SMSC_RATE_GUARD_MS: '250',
      RECIPIENT_LIMIT_PER_MINUTE: '0',
      RECIPIENT_LIMIT_PER_HOUR: '0',
      RECIPIENT_LIMIT_PER_DAY: '0',
    };
    sys = await startSystem({
      services: ['smsc-sim', 'messaging'],
      // No liveness probe: it would restart the killed instance, and the survivor must do alone.
      liveness: false,
      smscEnv: {
        SMSC_SUCCESS_RATE: '1',
        SMSC_MO_RATE: '0',
        SMSC_LATENCY_MS: '200',
        SMSC_RECEIPT_DELAY_MS: '300',
        SMSC_MESSAGE_IDS: 'sequential',
        SMSC_STRICT: '1',
        SMSC_MAX_BINDS: String(BINDS),
        SMSC_THROTTLE_PER_S: String(RATE),
      },
      env: { messaging: { ...shared, INSTANCE_ID: a } },
      say,
    });
    // The second instance: the same service, its own process, id and health port.
    const first = sys.services.messaging;
    const port = await freePort();
    second = new ServiceProcess(
      { ...first.spec, name: 'messaging-2', healthPort: port, env: { ...first.spec.env, HEALTH_PORT: String(port), INSTANCE_ID: b } },
      sys.logDir,
      say,
    );
    second.start();
    await second.waitHealthy(180_000);
    await second.waitForLog(/messaging ready/, 180_000);
    // Both hold bind slots before the send starts (the leases are renewed every second).
    await new Promise((r) => setTimeout(r, 3000));

    const nc = await connectNats(sys.natsUrl, 'proof-msg-instances');
    const js = jetstream(nc, { timeout: 30_000 });
    const now = Date.now();
    const started = Date.now();
    for (const c of carriers) {
      const mine = numbers.filter((n) => n.startsWith(prefix[c]));
      for (let i = 0; i < mine.length; i += BATCH) {
        const batch: SmsJobBatch = {
          v: 1,
          common: {
            source: 'industry',
            enterpriseId: 'proof',
            accountId: 'proof',
            sendId: 'msg-instances',
            carrier: c,
            content: '双实例演练：请忽略本短信',
            signature: '演练',
            createdAt: now,
          },
          jobs: mine.slice(i, i + BATCH).map((msisdn) => ({ jobId: `mi-${msisdn}`, msisdn })),
        };
        await js.publish(smsJobSubject(c), JSON.stringify(batch), { msgID: `mi-${c}-${i}` });
      }
    }
    await nc.close();
    say(`${numbers.length} jobs queued in batches of ${BATCH}; the SMSCs allow ${BINDS} binds and ${RATE}/s per carrier`);
    // Kill -9 the first instance once it has sent a good part, and do not restart it.
    const accepted = async () => (await sys!.smsc.stats()).reduce((n, s) => n + s.accepted, 0);
    while ((await accepted()) < 900) await new Promise((r) => setTimeout(r, 200));
    say(`kill -9 messaging (${a}) after ${await accepted()} accepted; not restarted`);
    await first.kill9();
    await waitQuiet(sys.natsUrl, ['SMS_JOBS'], {
      stableMs: 8000,
      timeoutMs: 150_000,
      say,
      extra: async () => JSON.stringify((await sys!.smsc.stats()).map((x) => x.accepted)),
    });
    tookMs = Date.now() - started;
    received = await sys.smsc.countsFor(numbers);
    stats = await sys.smsc.stats();
    const ch = connectClickHouse(sys.clickhouseUrl);
    logged = await selectRows<{ status: string; n: string }>(
      ch,
      "SELECT status, count() AS n FROM sms_log FINAL WHERE send_id = 'msg-instances' GROUP BY status",
    ).catch((e: Error) => [{ status: e.message, n: '' }]);
    await ch.close();
    say(`took ${Math.round(tookMs / 1000)} s; sms_log: ${JSON.stringify(logged)}; SMSC: ${JSON.stringify(stats)}`);
    const m = await second.metrics();
    uncertain = [...m.entries()].filter(([k]) => k.startsWith('sms_uncertain_jobs_total')).reduce((n, [, v]) => n + v, 0);
    say(
      `survivor: ${JSON.stringify([...m.entries()].filter(([k]) => /^sms_(jobs|uncertain_jobs)_total/.test(k)))}; the killed instance's log ends:\n${tail(first.logFile, 5)}`,
    );
  }, 400_000);

  afterAll(async () => {
    await second?.stop(15_000).catch(() => undefined);
    await sys?.stop({ keep: process.env.PROOF_KEEP === '1' });
  }, 120_000);

  it('reaches every handset exactly once: 0 lost, 0 duplicate', () => {
    const wrong = numbers.filter((m) => (received.get(m) ?? []).length !== 1).map((m) => `${m}: ${(received.get(m) ?? []).length}`);
    expect(wrong).toEqual([]);
  });

  it('records every job delivered in the send log, each once', () => {
    expect(logged.map((r) => `${r.status} ${r.n}`)).toEqual([`delivered ${numbers.length}`]);
  });

  // The SMSC answers after 200 ms, so the killed instance had submits on the wire: claimed, with no
  // outcome recorded. The survivor resolved them (a receipt, or sent again when none came).
  it('had the survivor resolve the killed instance’s uncertain jobs', () => {
    expect(uncertain).toBeGreaterThan(0);
  });

  it('held each carrier’s limits throughout: never more than 2 binds nor 150 submits in any second', () => {
    expect(
      stats.map((s) => ({
        carrier: s.carrier,
        peakBinds: s.peakBinds <= BINDS,
        bindsRefused: s.bindsRefused,
        throttled: s.throttled,
        peakPerSecond: s.peakPerSecond <= RATE,
      })),
    ).toEqual(carriers.map((c) => ({ carrier: c, peakBinds: true, bindsRefused: 0, throttled: 0, peakPerSecond: true })));
  });
});
