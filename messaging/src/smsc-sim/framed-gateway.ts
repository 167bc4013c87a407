import { createServer, type Server } from 'node:net';
import { CmppLink, type FramedCodec } from '../cmpp/cmpp-link.ts';
import type { ReceiptStat } from '../smpp/protocol.ts';
import type { ReceivedMessage, ReceivedPart, SimulatedSmsc, SmscBehaviour } from './simulated-smsc.ts';
import { StoreAndForward, listen, type Owed, type Receiver } from './store-and-forward.ts';

/** One SP link to a framed gateway: submits come on it and reports and replies go back on it. */
export interface GatewaySession<P extends { seq: number; command: string }, T extends Owed> extends Receiver<T> {
  link: CmppLink<P>;
  bound: boolean;
  submits: number;
}

/**
 * The server side a simulated CMPP or SMGP gateway shares: SP links framed by {@link CmppLink}, each
 * carrying submits one way and reports and replies the other (SGIP's come on a connection of their
 * own), with what was owed on a link that closed owed again; the gateway to tests (inject, raw
 * bytes, dropAll, close). A gateway supplies its PDUs (`onPdu`) and how an owed item is delivered.
 */
export class FramedGateway<P extends { seq: number; command: string }, T extends Owed> {
  readonly sessions = new Set<GatewaySession<P, T>>();
  readonly saf: StoreAndForward<T, GatewaySession<P, T>>;
  private server?: Server;

  constructor(o: {
    carrier: SimulatedSmsc['carrier'];
    behaviour: SmscBehaviour;
    keep?: number;
    retryMs?: number;
    /** Sends one owed item on a link, `answered` with the SP's result (0 = taken); false when it could not be written. */
    deliver: (s: GatewaySession<P, T>, item: T, answered: (result: number) => void) => unknown;
  }) {
    this.saf = new StoreAndForward<T, GatewaySession<P, T>>({
      carrier: o.carrier,
      behaviour: o.behaviour,
      keep: o.keep,
      retryMs: o.retryMs,
      receivers: () => [...this.sessions].filter((s) => s.bound && !s.link.gone),
      send: o.deliver,
    });
  }

  /** Links logged in now. */
  boundCount = (): number => [...this.sessions].filter((s) => s.bound).length;

  /** Listens for SP links; answers the port. */
  listen(o: {
    port?: number;
    host?: string;
    version: number;
    codec?: FramedCodec<P>;
    onPdu: (s: GatewaySession<P, T>, pdu: P) => void;
  }): Promise<number> {
    this.server = createServer((socket) => {
      const s = { bound: false, submits: 0, pending: new Set<T>() } as Omit<GatewaySession<P, T>, 'link'> as GatewaySession<P, T>;
      s.link = new CmppLink<P>(
        socket,
        o.version,
        (pdu) => o.onPdu(s, pdu),
        () => undefined,
        o.codec,
      );
      this.sessions.add(s);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sessions.delete(s);
        this.saf.requeue(s);
        this.saf.pump();
      });
    });
    return listen(this.server, o.port, o.host);
  }

  /**
   * One submit as CMPP and SMGP gateways take it: screened by the behaviour rules (the link cut, or
   * refused with `refuse`'s code after the latency), else `accept` reads it (its part, the answer,
   * what is owed for it), and after the latency the part is stored, its report and reply owed, and
   * the answer written. A gateway gives only its codes and fields.
   */
  submit(
    s: GatewaySession<P, T>,
    o: {
      destination: string;
      /** The code beyond the rate. */
      throttled: number;
      /** The protocol's own check of the PDU: a code to refuse it with, or undefined. */
      invalid: () => number | undefined;
      /** Writes the refusal with `code`. */
      refuse: (code: number) => void;
      accept: () => { part: ReceivedPart; answer: () => void; receipt: (stat: ReceiptStat) => T; mo: (whole: ReceivedMessage) => T };
    },
  ): void {
    const rules = this.saf.rules;
    const gone = () => s.link.gone;
    const screened = rules.screen(
      s,
      () => {
        s.link.flush();
        s.link.socket.destroy();
      },
      { destination: o.destination, throttled: o.throttled, invalid: o.invalid },
    );
    if ('drop' in screened) return;
    if ('refuse' in screened) return rules.respond(gone, () => o.refuse(screened.refuse));
    const a = o.accept();
    rules.respond(gone, () => {
      this.saf.accept(a.part, { receipt: a.receipt, mo: a.mo });
      a.answer();
    });
  }

  /** The gateway to tests; `injected` makes a delivery of a test's fields, owed like a report. */
  simulated(port: number, injected: (fields: Record<string, unknown>, id: string) => T): SimulatedSmsc {
    const saf = this.saf;
    return {
      ...saf.surface(port, this.boundCount),
      inject: (input) => {
        const inj = saf.newInjection();
        if ('raw' in input) {
          const s = [...this.sessions].find((x) => x.bound);
          if (s) {
            s.link.flush();
            s.link.socket.write(input.raw);
            inj.attempts++;
          }
        } else saf.owe(injected(input.fields, inj.id));
        return inj;
      },
      dropAll: () => {
        for (const s of [...this.sessions]) {
          saf.counters.disconnects++;
          s.link.flush();
          s.link.socket.destroy();
        }
      },
      close: async () => {
        saf.close();
        for (const s of [...this.sessions]) s.link.socket.destroy();
        const server = this.server;
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }
}
