import { JetStreamApiError } from '@nats-io/jetstream';
import { Bucket, type KV } from '@nats-io/kv';

/**
 * Shard ownership by leases in a KV bucket (DESIGN.md invariant 10: every shard of work has exactly
 * one live owner at a time, with a fencing token).
 *
 * - Each instance of a group keeps a membership key `member.<group>.<instance>` alive and, on every
 *   tick, works out which live instance each shard belongs to by rendezvous hashing (highest
 *   `hash(shard, instance)` wins): every instance computes the same answer from the same members, and
 *   when one joins or leaves only the shards it wins or held move.
 * - A shard's lease is the key `lease.<group>.<shard>` = `{ owner, epoch, expiresAt }`, written only by
 *   compare-and-swap on the key's revision (exactly one writer wins). The owner renews it every
 *   `renewMs`; an instance takes it over when it is released or has expired. Leases are never deleted
 *   (a release writes `owner: ''`), so the epoch survives every handover.
 * - **Fencing**: `epoch` goes up by one at every acquisition. The owner carries it into what it writes
 *   (claims, jobs), so that a receiver can refuse a write of an older epoch: a paused owner that wakes
 *   up after a new owner took over is fenced off. Locally, {@link LeaseManager.fence} answers the
 *   epoch only while the lease is certainly still held (renewed less than `ttlMs` ago by the local
 *   clock, counted from when the renewal was sent), and `onLost` is called as soon as that is no
 *   longer true, before any renewal is attempted.
 * - A shard that should move to a newly preferred instance is handed over: the holder calls `onLost`
 *   (stop and flush the shard's work), then releases; the new owner acquires it at its next tick.
 * - A shard whose `onAcquired` fails (throws or rejects) is not kept: a lease held with nobody working
 *   the shard would stop every other instance from taking it for as long as this process lives. The
 *   failure is logged, `onLost(…, 'failed')` undoes what was started, the lease is released at once,
 *   and the shard is declined for a back-off (the ttl, doubling up to `acquireRetryMaxMs`): the
 *   member key says so, every member leaves this instance out of that shard's assignment meanwhile,
 *   and another member takes it at its next tick. After the back-off the shard returns to its
 *   rendezvous owner, which tries again (alone, it simply tries again then).
 *
 * Clocks: expiry is judged by the taker's clock against the time the owner wrote. Instances on
 * different machines must keep their clocks within a margin well under `ttlMs` (NTP gives
 * milliseconds); the owner gives up `ttlMs / 5` early to absorb it.
 */

export interface LeaseValue {
  /** The owning instance, or '' when released. */
  owner: string;
  /** Acquisition counter: the fencing token. */
  epoch: number;
  /** Unix ms after which anyone may take the lease. */
  expiresAt: number;
}

export type LostReason = 'rebalance' | 'expired' | 'taken' | 'stopped' | 'failed';

/** A member key's value. */
export interface MemberValue {
  /** Unix ms after which the member counts as gone. */
  expiresAt: number;
  /** Shards this member will not take for now (its `onAcquired` of them failed): others take them. */
  declines?: string[];
}

export interface LeaseOptions {
  kv: KV;
  /** The service whose shards these are, e.g. `alerting`. Letters, digits, `-` and `_`. */
  group: string;
  /** The shards to share out, e.g. `cmcc-0` … `ctcc-7`. Letters, digits, `-` and `_`. */
  shards: string[];
  /** This instance's unique id. */
  instance: string;
  /** A lease not renewed for this long may be taken over. @default 6000 */
  ttlMs?: number;
  /** How often leases and membership are renewed and shards rebalanced. @default ttlMs / 3 */
  renewMs?: number;
  /**
   * How shards are shared out: `hash` (rendezvous hashing: fewest moves when members come and go, but
   * with few shards one member may win most of them) or `even` (at most ceil(shards / members) each,
   * still preferring each shard's rendezvous winner: bind slots, where 4 slots on 2 instances must be
   * 2 + 2). @default 'hash'
   */
  balance?: 'hash' | 'even';
  /** The shard is ours from now on, at this epoch: start its work. */
  onAcquired?: (shard: string, epoch: number) => void | Promise<void>;
  /**
   * The shard is no longer certainly ours: stop its work now (`rebalance`: handed to another instance;
   * `expired`: not renewed in time; `taken`: someone else holds it; `stopped`; `failed`: its
   * `onAcquired` failed, undo what it started).
   */
  onLost?: (shard: string, epoch: number, reason: LostReason) => void | Promise<void>;
  /** The longest wait before a shard whose `onAcquired` failed is tried again here. @default 30000 */
  acquireRetryMaxMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** The clock (tests may replace it). */
  now?: () => number;
}

/** Another writer changed the key first (wrong last sequence), or the key exists on create. */
const isConflict = (err: unknown) => err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164 || err.code === 10058);

/** 32-bit FNV-1a then a final avalanche (murmur3's fmix32): cheap and well spread for rendezvous hashing. */
export function hrwScore(shard: string, member: string): number {
  let h = 0x811c9dc5;
  const s = `${shard}\u0000${member}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The member a shard belongs to among `members` (rendezvous hashing; ties broken by id). */
export function preferredOwner(shard: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const m of members) {
    const sc = hrwScore(shard, m);
    if (sc > bestScore || (sc === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = sc;
    }
  }
  return best;
}

/**
 * Who owns each shard among `members`. `hash`: each shard's rendezvous winner. `even`: bounded-load
 * rendezvous — (shard, member) pairs taken from the highest score down, a member taking a shard while
 * it holds fewer than ceil(shards / members); every member computes the same answer from the same
 * members, in any order. A member that `declines` a shard is left out of that shard's choice, unless
 * every member declines it (then it goes as if none did: someone must keep trying).
 */
export function assignShards(
  shards: readonly string[],
  members: readonly string[],
  balance: 'hash' | 'even' = 'hash',
  declines: (member: string, shard: string) => boolean = () => false,
): Map<string, string> {
  const out = new Map<string, string>();
  if (members.length === 0) return out;
  const eligible = (s: string) => {
    const ms = members.filter((m) => !declines(m, s));
    return ms.length ? ms : members;
  };
  if (balance === 'hash') {
    for (const s of shards) out.set(s, preferredOwner(s, eligible(s))!);
    return out;
  }
  const cap = Math.ceil(shards.length / members.length);
  const pairs: { s: string; m: string; score: number }[] = [];
  for (const s of shards) for (const m of eligible(s)) pairs.push({ s, m, score: hrwScore(s, m) });
  pairs.sort((a, b) => b.score - a.score || (a.m < b.m ? -1 : a.m > b.m ? 1 : a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  const load = new Map<string, number>();
  for (const { s, m } of pairs) {
    if (out.has(s) || (load.get(m) ?? 0) >= cap) continue;
    out.set(s, m);
    load.set(m, (load.get(m) ?? 0) + 1);
  }
  // Declines can leave a shard whose only takers are full: its rendezvous winner takes it over the cap.
  for (const s of shards) if (!out.has(s)) out.set(s, preferredOwner(s, eligible(s))!);
  return out;
}

const KEY_PART = /^[A-Za-z0-9_-]+$/;
const enc = (v: unknown) => JSON.stringify(v);

interface Held {
  epoch: number;
  revision: number;
  /** Local time until which the lease is certainly ours. */
  validUntil: number;
}

export class LeaseManager {
  private readonly ttl: number;
  private readonly renewMs: number;
  private readonly now: () => number;
  private readonly held = new Map<string, Held>();
  /** Shards being handed over (their onLost and release still running). */
  private readonly handing = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private members: string[] = [];
  /** Shards whose onAcquired failed here: how often in a row, and when they may be tried again. */
  private readonly failed = new Map<string, { count: number; retryAt: number }>();
  private readonly retryMaxMs: number;

  constructor(private readonly o: LeaseOptions) {
    for (const p of [o.group, o.instance, ...o.shards])
      if (!KEY_PART.test(p)) throw new Error(`lease key part ${JSON.stringify(p)}: letters, digits, - and _ only`);
    this.ttl = o.ttlMs ?? 6000;
    this.renewMs = o.renewMs ?? Math.max(50, Math.floor(this.ttl / 3));
    this.now = o.now ?? Date.now;
    this.retryMaxMs = o.acquireRetryMaxMs ?? 30_000;
  }

  leaseKey = (shard: string) => `lease.${this.o.group}.${shard}`;
  private memberKey = (instance: string) => `member.${this.o.group}.${instance}`;

  /** Starts renewing and balancing; the first tick runs at once. */
  start(): void {
    this.stopped = false;
    const loop = () => {
      this.ticking = this.tick()
        .catch((err: unknown) => this.o.log?.('lease tick failed', { err: (err as Error).message }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.renewMs);
        });
    };
    loop();
  }

  /** Shards held now, with their epochs. */
  owned(): Map<string, number> {
    const out = new Map<string, number>();
    const t = this.now();
    for (const [s, h] of this.held) if (t < h.validUntil) out.set(s, h.epoch);
    return out;
  }

  /** The epoch to carry into a write for `shard`, or undefined when the lease is not certainly held. */
  fence(shard: string): number | undefined {
    const h = this.held.get(shard);
    return h && this.now() < h.validUntil ? h.epoch : undefined;
  }

  /**
   * Until when (this manager's clock, ms) `shard` counts as held here: its last renewal's send
   * time + ttl − margin; after it `fence` answers undefined. Undefined when it is not held.
   */
  validUntil(shard: string): number | undefined {
    return this.held.get(shard)?.validUntil;
  }

  /** Live members of the group at the last tick (sorted). */
  liveMembers(): string[] {
    return [...this.members];
  }

  /** One round: drop what has lapsed, keep membership alive, renew, hand over and take over. */
  async tick(): Promise<void> {
    const { kv } = this.o;
    // First, before anything that could take time: leases we can no longer be sure of.
    for (const [shard, h] of [...this.held]) if (this.now() >= h.validUntil) await this.lose(shard, 'expired');
    const margin = Math.floor(this.ttl / 5);
    await this.putMember();
    const members: string[] = [];
    const declined = new Map<string, Set<string>>();
    for (const k of await this.memberKeys()) {
      const e = await kv.get(k);
      if (!e || e.operation !== 'PUT') continue;
      const v = e.json<MemberValue>();
      if (v.expiresAt <= this.now()) continue;
      const id = k.slice(`member.${this.o.group}.`.length);
      members.push(id);
      if (v.declines?.length && id !== this.o.instance) declined.set(id, new Set(v.declines));
    }
    if (!members.includes(this.o.instance)) members.push(this.o.instance);
    members.sort();
    this.members = members;
    const mine = new Set(this.declining());
    const assigned = assignShards(this.o.shards, members, this.o.balance, (m, s) =>
      m === this.o.instance ? mine.has(s) : (declined.get(m)?.has(s) ?? false),
    );
    const handOver: [string, Held][] = [];
    // Renew every lease we keep first, so that handing others over (whose onLost may take a while,
    // e.g. draining a bind) never delays a renewal past its ttl.
    for (const [shard, h] of [...this.held]) {
      if (this.stopped) return;
      if (assigned.get(shard) !== this.o.instance) {
        handOver.push([shard, h]);
        continue;
      }
      const sent = this.now();
      try {
        const revision = await kv.update(
          this.leaseKey(shard),
          enc({ owner: this.o.instance, epoch: h.epoch, expiresAt: sent + this.ttl } satisfies LeaseValue),
          h.revision,
        );
        // Still ours only if nobody dropped it meanwhile (e.g. `stop`).
        const cur = this.held.get(shard);
        if (cur === h) this.held.set(shard, { epoch: h.epoch, revision, validUntil: sent + this.ttl - margin });
      } catch (err) {
        if (!isConflict(err)) throw err;
        await this.lose(shard, 'taken');
      }
    }
    // Hand-overs run beside the ticks: each shard's work is stopped (onLost, which may take a while,
    // e.g. draining a bind), then its lease released, while later ticks go on renewing the others.
    for (const [shard, h] of handOver) {
      const p = (async () => {
        await this.lose(shard, 'rebalance');
        await this.release(shard, h);
      })()
        .catch((err: unknown) => this.o.log?.('lease hand-over failed', { shard, err: (err as Error).message }))
        .finally(() => this.handing.delete(shard));
      this.handing.set(shard, p);
    }
    for (const shard of this.o.shards) {
      if (this.stopped) return;
      if (this.held.has(shard) || this.handing.has(shard) || assigned.get(shard) !== this.o.instance) continue;
      if ((this.failed.get(shard)?.retryAt ?? 0) > this.now()) continue;
      const e = await kv.get(this.leaseKey(shard));
      const cur: LeaseValue | undefined = e && e.operation === 'PUT' ? e.json<LeaseValue>() : undefined;
      if (cur && cur.owner !== '' && cur.owner !== this.o.instance && cur.expiresAt > this.now()) continue; // its holder hands it over
      const epoch = (cur?.epoch ?? 0) + 1;
      const sent = this.now();
      const value = enc({ owner: this.o.instance, epoch, expiresAt: sent + this.ttl } satisfies LeaseValue);
      let revision: number;
      try {
        revision = e ? await kv.update(this.leaseKey(shard), value, e.revision) : await kv.create(this.leaseKey(shard), value);
      } catch (err) {
        if (!isConflict(err)) throw err;
        continue; // another instance won this round
      }
      const h: Held = { epoch, revision, validUntil: sent + this.ttl - margin };
      this.held.set(shard, h);
      this.o.log?.('lease acquired', { group: this.o.group, shard, epoch, from: cur?.owner || undefined });
      try {
        await this.o.onAcquired?.(shard, epoch);
        this.failed.delete(shard);
      } catch (err) {
        await this.giveBack(shard, err);
      }
    }
  }

  /**
   * The group's member keys (some lapsed or deleted: the caller reads each). Read from the bucket's
   * stream info with a subject filter, which creates nothing on the server: `kv.keys()` opened an
   * ordered consumer on every tick (30 a minute per manager at the default ttl), each one a proposal
   * to a cluster's meta group that a restarting node had to catch up on. A KV that is not a stream
   * bucket (a test's) is asked for its keys.
   */
  private async memberKeys(): Promise<string[]> {
    const { kv } = this.o;
    const pattern = `member.${this.o.group}.*`;
    if (!(kv instanceof Bucket)) {
      const out: string[] = [];
      for await (const k of await kv.keys(pattern)) out.push(k);
      return out;
    }
    const info = await kv.jsm.streams.info(kv.stream, { subjects_filter: kv.subjectForKey(pattern) });
    return Object.keys(info.state.subjects ?? {}).map((s) => kv.decodeKey(s.slice(kv.prefixLen)));
  }

  /** Shards declined now (their onAcquired failed here and their back-off has not passed). */
  private declining(): string[] {
    const t = this.now();
    return [...this.failed].filter(([, f]) => f.retryAt > t).map(([s]) => s);
  }

  /** Keeps this instance's member key alive, saying which shards it declines for now. */
  private async putMember(): Promise<void> {
    const declines = this.declining();
    const v: MemberValue = { expiresAt: this.now() + this.ttl, ...(declines.length ? { declines } : {}) };
    await this.o.kv.put(this.memberKey(this.o.instance), enc(v));
  }

  /**
   * `onAcquired` of a shard failed: undo (onLost `failed`), release the lease at once and decline the
   * shard for a back-off, so that another member works it meanwhile instead of nobody.
   */
  private async giveBack(shard: string, err: unknown): Promise<void> {
    const h = this.held.get(shard);
    const count = (this.failed.get(shard)?.count ?? 0) + 1;
    const waitMs = Math.min(this.retryMaxMs, this.ttl * 2 ** (count - 1));
    this.failed.set(shard, { count, retryAt: this.now() + waitMs });
    this.o.log?.('lease onAcquired failed: released, trying again later', {
      group: this.o.group,
      shard,
      epoch: h?.epoch,
      attempt: count,
      waitMs,
      err: (err as Error)?.message ?? String(err),
    });
    try {
      await this.lose(shard, 'failed');
    } catch (e) {
      this.o.log?.('lease onLost failed', { group: this.o.group, shard, err: (e as Error)?.message ?? String(e) });
    }
    if (h) await this.release(shard, h);
    // Said now rather than at the next tick, so that the others take the shard at theirs.
    await this.putMember();
  }

  private async lose(shard: string, reason: LostReason): Promise<void> {
    const h = this.held.get(shard);
    if (!h) return;
    this.held.delete(shard);
    this.o.log?.('lease lost', { group: this.o.group, shard, epoch: h.epoch, reason });
    await this.o.onLost?.(shard, h.epoch, reason);
  }

  private async release(shard: string, h: Held): Promise<void> {
    try {
      await this.o.kv.update(this.leaseKey(shard), enc({ owner: '', epoch: h.epoch, expiresAt: 0 } satisfies LeaseValue), h.revision);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  /**
   * Stops: hands every held shard back (after `onLost(…, 'stopped')`) and leaves the group, so that
   * the others take the shards over at their next tick instead of after the lease expires.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await Promise.all(this.handing.values());
    for (const [shard, h] of [...this.held]) {
      await this.lose(shard, 'stopped');
      await this.release(shard, h);
    }
    await this.o.kv.delete(this.memberKey(this.o.instance)).catch(() => undefined);
  }

  /**
   * Simulates a crash for tests: stops ticking without releasing anything or leaving the group, as
   * a `kill -9` would (the others take over after the leases expire).
   */
  abandon(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * The receiving side of fencing: the current epoch of each shard's lease, read from the bucket and
 * kept fresh by a watch, so that a write carrying an older epoch can be refused.
 */
export async function currentLeaseEpoch(kv: KV, group: string, shard: string): Promise<number> {
  const e = await kv.get(`lease.${group}.${shard}`);
  return e && e.operation === 'PUT' ? e.json<LeaseValue>().epoch : 0;
}
