import type { Pdu, Session } from 'smpp';

/**
 * Coalesces the PDUs sent on one SMPP session in one turn of the event loop into a single
 * `socket.write` (the `smpp` package writes each PDU on its own: a syscall per PDU, which at
 * thousands of submit_sm and deliver_sm_resp per second cost more than encoding them).
 *
 * Sequence numbers and response callbacks use the session's own fields, so PDUs sent here and
 * with `session.send` (bind, enquire_link, unbind) share one numbering and one callback table.
 * When the socket is gone by the time the batch is written, the batch is dropped like any write
 * on a dead socket: a submit_sm is still pending in its bind and is sent again after the
 * reconnect; a response that never left makes the peer send its PDU again.
 */
export class PduWriter {
  private bufs: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  /** socket.write calls made, and PDUs written. */
  readonly counts = { writes: 0, pdus: 0 };

  constructor(
    private readonly session: Session,
    /** Write at once when this much is waiting. @default 65536 */
    private readonly maxBytes = 65_536,
  ) {}

  /** Like `session.send`: false when the socket cannot be written, so nothing was queued. */
  send(pdu: Pdu, onResponse?: (resp: Pdu) => void): boolean {
    const s = this.session;
    if (!s.socket.writable) return false;
    if (!pdu.isResponse()) {
      if (!pdu.sequence_number) {
        if (s.sequence === 0x7fffffff) s.sequence = 0;
        pdu.sequence_number = ++s.sequence;
      }
      if (onResponse) s._callbacks[pdu.sequence_number] = onResponse;
    }
    this.push(pdu.toBuffer());
    return true;
  }

  /**
   * Like {@link send} for a PDU already encoded (the hot path's submit_sm and deliver_sm_resp,
   * written by hand in `submit-codec.ts`): its sequence number (octets 12–15) is written here. A
   * request (`onResponse` given) takes the session's next one; a response keeps its request's.
   * Answers the sequence number, or false when the socket cannot be written.
   */
  sendEncoded(pdu: Buffer, onResponse?: (resp: Pdu) => void): number | false {
    const s = this.session;
    if (!s.socket.writable) return false;
    if (onResponse) {
      if (s.sequence === 0x7fffffff) s.sequence = 0;
      pdu.writeUInt32BE(++s.sequence, 12);
      s._callbacks[s.sequence] = onResponse;
    }
    this.push(pdu);
    return pdu.readUInt32BE(12);
  }

  private push(buf: Buffer): void {
    this.bufs.push(buf);
    this.bytes += buf.length;
    this.counts.pdus++;
    if (this.bytes >= this.maxBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is waiting now. */
  flush(): void {
    this.scheduled = false;
    if (this.bufs.length === 0) return;
    const out = this.bufs.length === 1 ? this.bufs[0]! : Buffer.concat(this.bufs, this.bytes);
    this.bufs = [];
    this.bytes = 0;
    const socket = this.session.socket;
    if (!socket.writable) return;
    this.counts.writes++;
    socket.write(out);
  }
}
