import type { KV } from '@nats-io/kv';
import { ensureKv, type NatsConnection } from '@geo/infra';
import { kvToken } from '../kv-keys.ts';

/**
 * Extension numbers (扩展码 / sub-ports): digits appended to the access number of a send that
 * needs a reply, so that a reply (MO) to that number finds its send. The access number is shared
 * by every enterprise, so an extension is unique among all live sends (hence within each
 * enterprise). Allocation is a KV `create`, which has exactly one winner across instances; an
 * expired entry is taken over with a compare-and-swap on its revision.
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
}

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
  ) {}

  static async open(nc: NatsConnection, bucket = EXTENSIONS_BUCKET, replicas = 1, now = () => Date.now()): Promise<ExtensionRegistry> {
    return new ExtensionRegistry(await ensureKv(nc, bucket, { replicas }), now);
  }

  /**
   * Gives a send its extension, or the one it already has (idempotent per send).
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
    let digits = req.digits ?? 4;
    for (let attempt = 0; attempt < 200; attempt++) {
      if (attempt > 0 && attempt % 20 === 0) digits = Math.min(8, digits + 1);
      const extension = String(Math.floor(Math.random() * 10 ** digits)).padStart(digits, '0');
      const entry: ExtensionEntry = {
        extension, enterpriseId: req.enterpriseId, accountId: req.accountId, sendId: req.sendId, forwardTo: req.forwardTo, signature: req.signature,
        expiresAt: this.now() + (req.liveMs ?? 7 * 24 * 3600_000),
      };
      if (await this.claim(extension, entry)) {
        await this.kv.put(sendKey, extension);
        return entry;
      }
    }
    throw new Error('no free extension number after 200 attempts');
  }

  private async claim(extension: string, entry: ExtensionEntry): Promise<boolean> {
    const key = `ext.${extension}`;
    try {
      await this.kv.create(key, JSON.stringify(entry));
      return true;
    } catch {
      const cur = await this.kv.get(key);
      if (!cur) return false;
      if (cur.operation === 'PUT' && (cur.json<ExtensionEntry>().expiresAt > this.now())) return false;
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

  /** Whether an extension is held by a live send, was held by one that expired, or by none. */
  async state(extension: string): Promise<{ state: 'live'; entry: ExtensionEntry } | { state: 'expired' | 'none' }> {
    if (!/^\d{1,8}$/.test(extension)) return { state: 'none' };
    const e = await this.kv.get(`ext.${extension}`);
    if (!e || e.operation !== 'PUT') return { state: 'none' };
    const entry = e.json<ExtensionEntry>();
    return entry.expiresAt > this.now() ? { state: 'live', entry } : { state: 'expired' };
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
    await this.kv.delete(`ext.${extension}`);
  }
}
