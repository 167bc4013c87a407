import { connect, type Socket } from 'node:net';
import { CmppDecodeError, FrameReader, decodeCmpp, encodeCmpp, readHeader, type CmppPdu } from './codec.ts';

/** A PDU to send without its sequence number (the link numbers it). */
export type CmppOutgoing = CmppPdu extends infer P ? (P extends CmppPdu ? Omit<P, 'seq'> : never) : never;

/**
 * One CMPP TCP link, either end: frames the stream, numbers requests, matches responses to them
 * by Sequence_Id, and writes everything sent in one turn of the event loop in one `write` (a
 * syscall per PDU costs more than encoding it at thousands per second).
 */
export class CmppLink {
  private readonly frames = new FrameReader();
  private readonly waiting = new Map<number, (resp: CmppPdu) => void>();
  private nextSeq = 1;
  private out: Buffer[] = [];
  private flushing = false;

  constructor(
    readonly socket: Socket,
    /** Protocol version of the PDUs' bodies (fixed at login). */
    public version: number,
    /** Requests from the peer and responses nobody waits for. */
    private readonly onPdu: (pdu: CmppPdu) => void,
    /** A frame that cannot be read: `frame` when its length was sound (the link may go on), else the link is unusable. */
    private readonly onBad: (err: CmppDecodeError, frame?: Buffer) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
  }

  static dial(
    host: string,
    port: number,
    version: number,
    onPdu: (pdu: CmppPdu) => void,
    onBad: (err: CmppDecodeError, frame?: Buffer) => void,
  ) {
    return new CmppLink(connect({ host, port }), version, onPdu, onBad);
  }

  get gone(): boolean {
    return this.socket.destroyed;
  }

  private read(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (err) {
      this.onBad(err as CmppDecodeError);
      this.socket.destroy();
      return;
    }
    for (const f of frames) {
      if (this.socket.destroyed) return;
      let pdu: CmppPdu;
      try {
        pdu = decodeCmpp(f, this.version);
      } catch (err) {
        if (err instanceof CmppDecodeError) this.onBad(err, f);
        else throw err;
        continue;
      }
      const cb = pdu.command.endsWith('_resp') ? this.waiting.get(pdu.seq) : undefined;
      if (cb) {
        this.waiting.delete(pdu.seq);
        cb(pdu);
      } else this.onPdu(pdu);
    }
  }

  /** Sends a request (numbered here) and calls `onResponse` with its response; the sequence number, or false when the socket cannot be written. */
  request(pdu: CmppOutgoing, onResponse?: (resp: CmppPdu) => void): number | false {
    const seq = this.nextSeq;
    this.nextSeq = this.nextSeq >= 0x7fffffff ? 1 : this.nextSeq + 1;
    if (!this.write({ ...pdu, seq } as CmppPdu)) return false;
    if (onResponse) this.waiting.set(seq, onResponse);
    return seq;
  }

  /** Sends a response (or any PDU with its own sequence number). */
  write(pdu: CmppPdu): boolean {
    if (!this.socket.writable) return false;
    this.out.push(encodeCmpp(pdu, this.version));
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Writes what is waiting now. */
  flush(): void {
    this.flushing = false;
    if (this.out.length === 0) return;
    const buf = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    if (this.socket.writable) this.socket.write(buf);
  }

  /** The header of a frame that could not be decoded (to answer it). */
  static headerOf(frame: Buffer) {
    return readHeader(frame);
  }
}
