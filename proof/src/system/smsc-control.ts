/**
 * The simulated carrier SMSCs (`messaging/src/smsc-sim`), driven over their HTTP side: what they
 * accepted (the ground truth of who got an SMS) and their behaviour (throttle, dropped binds).
 */
import type { SmscBehaviour, SmscReceivedMessage, SmscStats } from '@geo/messaging';

export type { SmscStats };

/** A whole message the simulator received, with the carrier whose SMSC got it. */
export type ReceivedMessage = Pick<SmscReceivedMessage, 'at' | 'source' | 'destination' | 'text' | 'parts' | 'messageIds'> & {
  carrier: string;
};

/** Fields of the simulator's `SmscBehaviour` that a fault needs. */
export type SmscBehaviourPatch = Partial<
  Pick<
    SmscBehaviour,
    | 'latencyMs'
    | 'successRate'
    | 'rejectRate'
    | 'throttlePerSecond'
    | 'disconnectAfter'
    | 'receiptDelayMs'
    | 'moRate'
    | 'strictOptionalParams'
  >
>;

export class SmscControl {
  constructor(readonly url: string) {}

  private async get<T>(path: string): Promise<T> {
    const r = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) throw new Error(`smsc-sim ${path}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }

  stats(): Promise<SmscStats[]> {
    return this.get('/stats');
  }

  async configure(patch: SmscBehaviourPatch, carrier?: string): Promise<void> {
    const r = await fetch(`${this.url}/behaviour${carrier ? `?carrier=${carrier}` : ''}`, {
      method: 'POST',
      body: JSON.stringify(patch),
      signal: AbortSignal.timeout(10_000),
    });
    if (!r.ok) throw new Error(`smsc-sim /behaviour: HTTP ${r.status} ${await r.text()}`);
  }

  /** Every whole message the SMSCs accepted for one number (at most 1000). */
  messagesTo(msisdn: string): Promise<ReceivedMessage[]> {
    return this.get(`/messages?msisdn=${encodeURIComponent(msisdn)}&limit=1000`);
  }

  /** The newest messages across carriers (at most 1000). */
  latest(limit = 1000): Promise<ReceivedMessage[]> {
    return this.get(`/messages?limit=${limit}`);
  }

  /**
   * Every message received per number, for the given numbers: one `POST /messages/by-destination`
   * per `chunk` numbers (the simulator takes at most 50,000 a request), not one request per number.
   */
  async countsFor(msisdns: readonly string[], chunk = 20_000): Promise<Map<string, ReceivedMessage[]>> {
    const out = new Map<string, ReceivedMessage[]>();
    for (let i = 0; i < msisdns.length; i += chunk) {
      const part = msisdns.slice(i, i + chunk);
      const r = await fetch(`${this.url}/messages/by-destination`, {
        method: 'POST',
        body: JSON.stringify(part),
        signal: AbortSignal.timeout(60_000),
      });
      if (!r.ok) throw new Error(`smsc-sim /messages/by-destination: HTTP ${r.status} ${await r.text()}`);
      const by = (await r.json()) as Record<string, ReceivedMessage[]>;
      for (const m of part) out.set(m, by[m] ?? []);
    }
    return out;
  }
}
