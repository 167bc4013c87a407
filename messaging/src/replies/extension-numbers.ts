import type { KV } from '@nats-io/kv';
import { ensureKv, type NatsConnection } from '@geo/infra';
import { kvToken } from '../kv-keys.ts';

/**
 * Extension numbers (扩展码 / sub-ports): digits appended to the access number of a send that
 * needs a reply, so that a reply (MO) to that number finds its send. The access number is shared
 * by every enterprise, so an extension is unique among all live sends (hence within each
 * enterprise). Allocation is a KV `create`, which has exactly one winner across instances; an
 * expired entry is taken over with a compare-and-swap on its revision.
 *
 * One shared pool, bounded per enterprise (issue 17): an enterprise holds at most
 * `maxPerEnterprise` live extensions at once (default 1,000, a tenth of the 4-digit space), kept
 * in one KV entry per enterprise updated with compare-and-swap, so no tenant can take the pool
 * from the others, whatever it schedules. A bound rather than a range of its own per enterprise:
 * ranges (access number + enterprise code + send code) need an enterprise code the platform does
 * not issue yet and longer source addresses than some carrier gateways take (CMPP src_id has 21
 * digits), while a bound keeps today's 4-digit extensions and costs one KV entry.
 */

export const EXTENSIONS_BUCKET = 'sms_extensions';

export interface ExtensionEntry {
  extension: string;
  enterpriseId: string;
  accountId: string;
  sendId: string;
  /** Forward replies to this phone (default chosen by the portal: the account admin's phone). */
  forwardTo?: string;
  /** Signature for forwarded replies. */
  signature?: string;
  /** Unix ms after which the extension may be given to another send. */
  expiresAt: number;
  /** `checkin`: an alert task's check-in (#21): its replies are answers, recorded by the portal. */
  kind?: 'checkin';
  /**
   * Unix ms from which the send takes no more replies though it still holds the extension (a
   * closed check-in): a reply then is counted `checkin_closed`, not published.
   */
  closedAt?: number;
}

/** Why an extension was not given, with a zh-CN message for the portal. */
export class ExtensionError extends Error {
  override name = 'ExtensionError';
  constructor(
    readonly code: 'EXTENSIONS_EXHAUSTED' | 'NO_EXTENSION',
    message: string,
  ) {
    super(message);
  }
}

/** Live extensions an enterprise holds at most at once. */
export const MAX_EXTENSIONS_PER_ENTERPRISE = 1000;

/** The extensions an enterprise holds: [extension, expiresAt ms]. */
type Held = [string, number][];

export interface AllocateRequest {
  enterpriseId: string;
  accountId: string;
  sendId: string;
  forwardTo?: string;
  signature?: string;
  /** How long replies are matched to this send. @default 7 days */
  liveMs?: number;
  /** Starting length; grows when the space is crowded. @default 4 */
  digits?: number;
}

export class ExtensionRegistry {
  private constructor(
    private readonly kv: KV,
    private readonly now: () => number,
    private readonly maxPerEnterprise: number,
  ) {}

  static async open(
    nc: NatsConnection,
    bucket = EXTENSIONS_BUCKET,
    replicas = 1,
    now = () => Date.now(),
    /** @default MAX_EXTENSIONS_PER_ENTERPRISE */
    maxPerEnterprise = MAX_EXTENSIONS_PER_ENTERPRISE,
  ): Promise<ExtensionRegistry> {
    return new ExtensionRegistry(await ensureKv(nc, bucket, { replicas }), now, maxPerEnterprise);
  }

  /** Live extensions the enterprise holds now. */
  async heldBy(enterpriseId: string): Promise<number> {
    const e = await this.kv.get(this.heldKey(enterpriseId));
    return e && e.operation === 'PUT' ? e.json<Held>().filter(([, until]) => until > this.now()).length : 0;
  }

  private heldKey(enterpriseId: string): string {
    return `held.${kvToken(enterpriseId)}`;
  }

  /**
   * Adds (or with `add` undefined removes) an extension in the enterprise's list, dropping expired
   * ones; false when adding would pass the bound. Compare-and-swap, retried on a concurrent writer.
   */
  private async updateHeld(enterpriseId: string, extension: string, add?: number): Promise<boolean> {
    const key = this.heldKey(enterpriseId);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.kv.get(key);
      const live = (cur && cur.operation === 'PUT' ? cur.json<Held>() : []).filter(([x, until]) => until > this.now() && x !== extension);
      if (add !== undefined) {
        if (live.length >= this.maxPerEnterprise) return false;
        live.push([extension, add]);
      }
      try {
        if (cur) await this.kv.update(key, JSON.stringify(live), cur.revision);
        else await this.kv.create(key, JSON.stringify(live));
        return true;
      } catch (err) {
        // Another allocation of the enterprise wrote first: read again, after a short jittered pause.
        if (attempt >= 100) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
      }
    }
  }

  /**
   * Gives a send its extension, or the one it already has (idempotent per send). Throws
   * {@link ExtensionError} `EXTENSIONS_EXHAUSTED` when the enterprise already holds
   * `maxPerEnterprise` live extensions.
   * @example
   * const ext = await registry.allocate({ enterpriseId: 'e1', accountId: 'a1', sendId: 's9', forwardTo: '13800138000' }); // '4821'
   */
  async allocate(req: AllocateRequest): Promise<ExtensionEntry> {
    const sendKey = `send.${kvToken(req.enterpriseId)}.${kvToken(req.sendId)}`;
    const existing = await this.kv.get(sendKey);
    if (existing && existing.operation === 'PUT') {
      const entry = await this.lookup(existing.string());
      if (entry && entry.sendId === req.sendId && entry.enterpriseId === req.enterpriseId) return entry;
    }
    const full = () =>
      new ExtensionError(
        'EXTENSIONS_EXHAUSTED',
        `本企业同时占用的回复扩展码已达上限（${this.maxPerEnterprise} 个），请待已有发送的回复期结束后再发送需要回复的短信`,
      );
    if ((await this.heldBy(req.enterpriseId)) >= this.maxPerEnterprise) throw full();
    let digits = req.digits ?? 4;
    for (let attempt = 0; attempt < 200; attempt++) {
      if (attempt > 0 && attempt % 20 === 0) digits = Math.min(8, digits + 1);
      const extension = String(Math.floor(Math.random() * 10 ** digits)).padStart(digits, '0');
      const entry: ExtensionEntry = {
        extension,
        enterpriseId: req.enterpriseId,
        accountId: req.accountId,
        sendId: req.sendId,
        forwardTo: req.forwardTo,
        signature: req.signature,
        expiresAt: this.now() + (req.liveMs ?? 7 * 24 * 3600_000),
      };
      if (await this.claim(extension, entry)) {
        // Counted against the enterprise's bound; a concurrent allocation of the same enterprise
        // that took the last place first makes this one give its extension back.
        if (!(await this.updateHeld(req.enterpriseId, extension, entry.expiresAt))) {
          await this.kv.delete(`ext.${extension}`);
          throw full();
        }
        await this.kv.put(sendKey, extension);
        return entry;
      }
    }
    throw new ExtensionError('NO_EXTENSION', '暂无可用的回复扩展码，请稍后再试');
  }

  private async claim(extension: string, entry: ExtensionEntry): Promise<boolean> {
    const key = `ext.${extension}`;
    try {
      await this.kv.create(key, JSON.stringify(entry));
      return true;
    } catch {
      const cur = await this.kv.get(key);
      if (!cur) return false;
      if (cur.operation === 'PUT' && cur.json<ExtensionEntry>().expiresAt > this.now()) return false;
      try {
        await this.kv.update(key, JSON.stringify(entry), cur.revision);
        return true;
      } catch {
        return false;
      }
    }
  }

  /**
   * Registers an extension a producer chose itself, unless a live send of another owner holds it.
   * @returns false when the extension belongs to another live send.
   */
  async register(entry: ExtensionEntry): Promise<boolean> {
    const cur = await this.lookup(entry.extension);
    if (cur) return cur.enterpriseId === entry.enterpriseId && cur.sendId === entry.sendId;
    return this.claim(entry.extension, entry);
  }

  /**
   * Whether an extension is held by a live send, by one that takes no more replies (a closed
   * check-in), was held by one that expired, or by none.
   */
  async state(
    extension: string,
  ): Promise<{ state: 'live'; entry: ExtensionEntry } | { state: 'closed'; entry: ExtensionEntry } | { state: 'expired' | 'none' }> {
    if (!/^\d{1,8}$/.test(extension)) return { state: 'none' };
    const e = await this.kv.get(`ext.${extension}`);
    if (!e || e.operation !== 'PUT') return { state: 'none' };
    const entry = e.json<ExtensionEntry>();
    const now = this.now();
    if (entry.expiresAt <= now) return { state: 'expired' };
    return entry.closedAt !== undefined && entry.closedAt <= now ? { state: 'closed', entry } : { state: 'live', entry };
  }

  /**
   * Stops a send taking replies from `at` while it keeps its extension until `expiresAt` (a closed
   * check-in: late answers are counted `checkin_closed`, not given to another send). Writes the
   * entry when messaging has not yet registered it; `at` undefined opens it again.
   * @returns false when the extension belongs to another live send.
   */
  async close(entry: Omit<ExtensionEntry, 'closedAt'>, at: number | undefined): Promise<boolean> {
    const key = `ext.${entry.extension}`;
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.kv.get(key);
      const held = cur && cur.operation === 'PUT' ? cur.json<ExtensionEntry>() : undefined;
      const live = held && held.expiresAt > this.now() ? held : undefined;
      if (live && (live.enterpriseId !== entry.enterpriseId || live.sendId !== entry.sendId)) return false;
      const prior: ExtensionEntry = live ?? entry;
      const { closedAt: _closed, ...base } = prior;
      const next: ExtensionEntry = {
        ...base,
        kind: entry.kind ?? base.kind,
        expiresAt: Math.max(base.expiresAt, entry.expiresAt),
        ...(at === undefined ? {} : { closedAt: at }),
      };
      try {
        if (cur) await this.kv.update(key, JSON.stringify(next), cur.revision);
        else await this.kv.create(key, JSON.stringify(next));
        if (!live) await this.updateHeld(entry.enterpriseId, entry.extension, next.expiresAt);
        return true;
      } catch {
        // Another writer (messaging registering it) came first: read again.
      }
    }
    throw new Error(`extension ${entry.extension}: too many concurrent updates`);
  }

  /** The live send behind an extension, if any. */
  async lookup(extension: string): Promise<ExtensionEntry | undefined> {
    if (!/^\d{1,8}$/.test(extension)) return undefined;
    const e = await this.kv.get(`ext.${extension}`);
    if (!e || e.operation !== 'PUT') return undefined;
    const entry = e.json<ExtensionEntry>();
    return entry.expiresAt > this.now() ? entry : undefined;
  }

  /** Frees an extension early (the send is finished and takes no more replies). */
  async release(extension: string): Promise<void> {
    const cur = await this.lookup(extension);
    await this.kv.delete(`ext.${extension}`);
    if (cur) await this.updateHeld(cur.enterpriseId, extension);
  }
}
