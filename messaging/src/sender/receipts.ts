import type { Msg } from '@nats-io/transport-node';
import { deadLetterWriter } from '@geo/infra';
import type { SmsCarrier } from '../contract.ts';
import type { CarrierReceipt } from '../smpp/connector.ts';
import { rowVersion, type SendLogRow } from '../send-log/schema.ts';
import { receiptKey, type RowState, type SenderContext } from './context.ts';
import { jobOfRow } from './send-records.ts';
import { receiptCode } from './uncertain-jobs.ts';

/** Why a receipt matched no job, as the `reason` label of `sms_receipts_unmatched_total`. */
export type UnmatchedReceiptReason = 'unknown_message_id';

/** Receipts one instance offers the others (`names.receiptsSubject`). */
interface PeerReceipts {
  from?: string;
  mode?: 'memory' | 'uncertain';
  receipts: CarrierReceipt[];
}

const WORSE: Record<string, number> = { delivered: 1, expired: 2, rejected: 3, failed: 4 };

/**
 * Receipts to final states: a receipt finds its job in memory (sent from here), at another
 * instance (asked over NATS), in the send log, or among the uncertain jobs; one that finds none is
 * refused for a while (its job may become known), then dead-lettered. Also the dead-letters of
 * what carriers deliver that cannot be used.
 */
export class Receipts {
  private unmatched: { r: CarrierReceipt; resolve: (ok: boolean) => void }[] = [];
  private unmatchedTimer?: NodeJS.Timeout;
  /** When each unmatched receipt's message id was first seen (bounded). */
  private readonly unknownSince = new Map<string, number>();

  constructor(private readonly c: SenderContext) {}

  async onReceipt(r: CarrierReceipt): Promise<boolean> {
    this.c.counts.receipts++;
    this.c.metrics.receipts.inc({ carrier: r.carrier, state: r.state });
    const key = receiptKey(r.carrier, r.smscId, r.messageId);
    const t = this.c.byMessageId.get(key);
    if (t) {
      this.c.byMessageId.delete(key);
      t.receipts++;
      if ((WORSE[r.state] ?? 4) > (WORSE[t.worst] ?? 0)) t.worst = r.state;
      if (t.receipts >= t.messageIds.length) {
        this.c.counts.final++;
        await this.c.records.record(t, t.worst, t.worst === 'delivered' ? '' : receiptCode(r), r.at);
      }
      return true;
    }
    // Not known here: a receipt that overtook its submit's bookkeeping, or one for a job sent
    // before a restart. Look it up in a moment, in a batch.
    return new Promise<boolean>((resolve) => {
      this.unmatched.push({ r, resolve });
      if (!this.unmatchedTimer) this.unmatchedTimer = setTimeout(() => void this.matchLater(), 200);
    });
  }

  private async matchLater(): Promise<void> {
    this.unmatchedTimer = undefined;
    const batch = this.unmatched.splice(0);
    const rest: typeof batch = [];
    for (const u of batch) {
      if (this.c.byMessageId.has(receiptKey(u.r.carrier, u.r.smscId, u.r.messageId)))
        this.onReceipt(u.r).then(u.resolve, () => u.resolve(false));
      else rest.push(u);
    }
    if (rest.length === 0) return;
    // Another instance may be waiting for these (an SMSC gives receipts to any bind of the
    // account): it takes them from memory at once, before its send-log row may even be written.
    const taken = await this.askPeers(rest.map((u) => u.r));
    for (let i = 0; i < rest.length; i++) if (taken[i]) rest[i]!.resolve(true);
    rest.splice(0, rest.length, ...rest.filter((_, i) => !taken[i]));
    if (rest.length === 0) return;
    try {
      const ids = rest.map((u) => u.r.messageId);
      const carriers = [...new Set(rest.map((u) => u.r.carrier))];
      const refs = rest.map((u) => u.r.ref).filter((x): x is string => !!x);
      const rows = await this.c.records.rowsFor(carriers, ids, refs);
      // Keyed by carrier and SMSC too: another carrier's job with the same message id is no match.
      const byKey = new Map<string, SendLogRow>();
      for (const row of rows) {
        for (const id of row.message_ids) byKey.set(receiptKey(row.carrier, row.smsc, id), row);
        byKey.set(`ref:${row.carrier}|${row.job_id}`, row);
      }
      const writes: Promise<void>[] = [];
      /** Receipts no logged job and no uncertain job here has. */
      const orphans: typeof rest = [];
      for (const u of rest) {
        const r = u.r;
        const row =
          byKey.get(receiptKey(r.carrier, r.smscId, r.messageId)) ??
          // Rows written before the SMSC was kept: the carrier alone.
          byKey.get(receiptKey(r.carrier, '', r.messageId)) ??
          (r.ref ? byKey.get(`ref:${r.carrier}|${r.ref}`) : undefined);
        if (row && row.status !== 'submitted' && row.status !== 'unknown' && Number(row.version) >= rowVersion(r.state, 0)) {
          u.resolve(true); // already final
          continue;
        }
        if (!row) {
          // No logged job has it: perhaps one held here as uncertain (the one home of that).
          const taken = this.c.uncertain.take(r);
          if (!taken) orphans.push(u);
          else {
            this.unknownSince.delete(receiptKey(r.carrier, r.smscId, r.messageId));
            writes.push(
              taken.then(
                () => u.resolve(true),
                () => u.resolve(false),
              ),
            );
          }
          continue;
        }
        const job = jobOfRow(row);
        this.unknownSince.delete(receiptKey(r.carrier, r.smscId, r.messageId));
        const state: RowState = {
          job,
          carrier: row.carrier as SmsCarrier,
          smscId: row.smsc || r.smscId,
          segments: row.segments,
          submitMs: row.submit_time * 1000,
          messageIds: row.message_ids,
        };
        // Logged (maybe by another instance): no receipt to that number resolves it as uncertain any more.
        this.c.uncertain.forget(job.jobId);
        this.c.counts.final++;
        writes.push(
          this.c.records.record(state, r.state, receiptCode(r), r.at).then(
            () => u.resolve(true),
            () => u.resolve(false),
          ),
        );
      }
      if (orphans.length > 0) {
        // Perhaps another instance holds their jobs as uncertain (it was handed them after a crash).
        const taken = await this.askPeers(
          orphans.map((u) => u.r),
          'uncertain',
        );
        for (let i = 0; i < orphans.length; i++) {
          const u = orphans[i]!;
          if (taken[i]) u.resolve(true);
          // The carrier will send it again; by then its job may be known. Or it never will be.
          else writes.push(this.unknownReceipt(u.r).then(u.resolve, () => u.resolve(false)));
        }
      }
      await Promise.all(writes);
    } catch (err) {
      this.c.o.log.error({ err }, 'matching receipts failed; the carrier will send them again');
      for (const u of rest) u.resolve(false);
    }
  }

  /**
   * Offers receipts that match nothing here to the other instances (one request, every peer
   * answers with the indexes it recorded); which were taken. None taken when there are no peers or
   * they do not answer within half a second: the send log is asked next.
   */
  private async askPeers(rs: CarrierReceipt[], mode: PeerReceipts['mode'] = 'memory'): Promise<boolean[]> {
    const taken = rs.map(() => false);
    const peers = this.c.o.peers?.() ?? 0;
    if (peers === 0 || this.c.stopping) return taken;
    try {
      const answers = await this.c.o.nc.requestMany(
        this.c.names.receiptsSubject,
        JSON.stringify({ from: this.c.o.instance, mode, receipts: rs } satisfies PeerReceipts),
        {
          strategy: 'count',
          maxMessages: peers,
          maxWait: 500,
        },
      );
      for await (const a of answers) {
        if (a.data.length === 0) continue;
        for (const i of a.json<{ taken: number[] }>().taken ?? []) if (i >= 0 && i < taken.length) taken[i] = true;
      }
    } catch (err) {
      this.c.o.log.debug({ err: (err as Error).message }, 'peers not asked about receipts; the send log decides');
    }
    return taken;
  }

  /**
   * Receipts offered by another instance: `memory`, those we wait for (sent from here, in memory);
   * `uncertain`, those (no logged job has their id) that resolve a job we hold as uncertain.
   */
  async peerReceipts(msg: Msg): Promise<void> {
    let body: PeerReceipts;
    try {
      body = msg.json<PeerReceipts>();
    } catch {
      return;
    }
    if (body.from === this.c.o.instance || !Array.isArray(body.receipts)) return; // our own offer
    const taken: number[] = [];
    await Promise.all(
      body.receipts.map(async (r, i) => {
        if (body.mode === 'uncertain') {
          // Offered only once the send log had no job with its message id (see matchLater).
          const resolving = this.c.uncertain.take(r);
          if (
            resolving &&
            (await resolving.then(
              () => true,
              () => false,
            ))
          ) {
            this.unknownSince.delete(receiptKey(r.carrier, r.smscId, r.messageId));
            taken.push(i);
          }
          return;
        }
        if (!this.c.byMessageId.has(receiptKey(r.carrier, r.smscId, r.messageId))) return;
        if (await this.onReceipt(r).catch(() => false)) taken.push(i);
      }),
    );
    this.c.counts.peerReceipts += taken.length;
    msg.respond(JSON.stringify({ taken }));
  }

  // ---- malformed deliver_sm -----------------------------------------------------------------------

  /** Dead-letters what a carrier delivered that cannot be used, with the reason; throws if not stored. */
  async deadLetterDeliver(carrier: SmsCarrier, reason: string, fields: Record<string, unknown>): Promise<void> {
    const write = deadLetterWriter(this.c.o.nc, 'messaging');
    await write(
      reason,
      { stream: `smpp-${carrier}`, subject: `smpp.${carrier}.deliver_sm` },
      new TextEncoder().encode(JSON.stringify(fields)),
    );
    this.c.counts.badDelivers++;
    // The metric label is the reason without its variable part (in brackets or quotes).
    this.c.metrics.bad.inc({ carrier, reason: reason.split(/[("]/)[0]!.trim() });
    this.c.o.log.warn({ carrier, reason }, 'deliver_sm dead-lettered');
  }

  /**
   * An unmatched receipt that may still find its job is refused (false); one unmatched for longer
   * than `unknownReceiptMs` is dead-lettered and accepted (true), so the carrier stops sending it.
   */
  private async unknownReceipt(r: CarrierReceipt): Promise<boolean> {
    if (r.ref && this.c.claims.has(r.ref)) return false; // its job comes back (redelivery) and claims it
    const now = Date.now();
    const key = receiptKey(r.carrier, r.smscId, r.messageId);
    const first = this.unknownSince.get(key);
    if (first === undefined) {
      this.unknownSince.set(key, now);
      if (this.unknownSince.size > 100_000) this.unknownSince.delete(this.unknownSince.keys().next().value!);
      return false;
    }
    if (now - first < (this.c.o.unknownReceiptMs ?? 600_000)) return false;
    await this.deadLetterDeliver(
      r.carrier,
      `receipt for an unknown message id (no job of ${r.carrier} SMSC ${r.smscId} has it; unmatched for ${Math.round((now - first) / 1000)} s)`,
      {
        messageId: r.messageId,
        smscId: r.smscId,
        stat: r.stat,
        err: r.err,
        ref: r.ref,
        msisdn: r.msisdn,
      },
    );
    this.c.metrics.unmatched.inc({ carrier: r.carrier, reason: 'unknown_message_id' satisfies UnmatchedReceiptReason });
    this.unknownSince.delete(key);
    return true;
  }
}
