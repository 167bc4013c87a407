import { connect, type Socket } from 'node:net';
import { decodeCmpp, encodeCmpp, readHeader, type CmppPdu } from './codec.ts';
import { CmppDecodeError, FrameReader } from './framing.ts';

/** A PDU to send without its sequence number (the link numbers it). */
export type Outgoing<P> = P extends unknown ? Omit<P, 'seq'> : never;
export type CmppOutgoing = Outgoing<CmppPdu>;

/** How a protocol whose header is Total_Length, Command_Id, Sequence_Id (CMPP, SMGP) writes and reads its PDUs. */
export interface FramedCodec<P> {
  encode(pdu: P, version: number): Buffer;
  /** Throws CmppDecodeError (or a subclass) for a frame it cannot read. */
  decode(frame: Buffer, version: number): P;
}

const CMPP_CODEC: FramedCodec<CmppPdu> = { encode: encodeCmpp, decode: decodeCmpp };

/**
 * One CMPP TCP link, either end: frames the stream, numbers requests, matches responses to them
 * by Sequence_Id, and writes everything sent in one turn of the event loop in one `write` (a
 * syscall per PDU costs more than encoding it at thousands per second).
 */
export class CmppLink<P extends { seq: number; command: string } = CmppPdu> {
  private readonly frames = new FrameReader();
  private readonly waiting = new Map<number, (resp: P) => void>();
  private nextSeq = 1;
  /** Numbers requests instead of the link's own counter (SGIP: one counter for all of a connector's links, so Sequence Numbers, its message ids, never repeat). */
  seqSource?: () => number;
  private out: Buffer[] = [];
  private flushing = false;

  constructor(
    readonly socket: Socket,
    /** Protocol version of the PDUs' bodies (fixed at login). */
    public version: number,
    /** Requests from the peer and responses nobody waits for. */
    private readonly onPdu: (pdu: P) => void,
    /** A frame that cannot be read: `frame` when its length was sound (the link may go on), else the link is unusable. */
    private readonly onBad: (err: CmppDecodeError, frame?: Buffer) => void,
    private readonly codec: FramedCodec<P> = CMPP_CODEC as unknown as FramedCodec<P>,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
  }

  static dial<P extends { seq: number; command: string } = CmppPdu>(
    host: string,
    port: number,
    version: number,
    onPdu: (pdu: P) => void,
    onBad: (err: CmppDecodeError, frame?: Buffer) => void,
    codec?: FramedCodec<P>,
  ) {
    return new CmppLink<P>(connect({ host, port }), version, onPdu, onBad, codec);
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
      let pdu: P;
      try {
        pdu = this.codec.decode(f, this.version);
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
  request(pdu: Outgoing<P>, onResponse?: (resp: P) => void): number | false {
    const seq = this.seqSource ? this.seqSource() : this.nextSeq;
    if (!this.seqSource) this.nextSeq = this.nextSeq >= 0x7fffffff ? 1 : this.nextSeq + 1;
    if (!this.write({ ...pdu, seq } as unknown as P)) return false;
    if (onResponse) this.waiting.set(seq, onResponse);
    return seq;
  }

  /** Sends a response (or any PDU with its own sequence number). */
  write(pdu: P): boolean {
    if (!this.socket.writable) return false;
    this.out.push(this.codec.encode(pdu, this.version));
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
