import { connect, createServer, type Socket } from 'node:net';
import type { SmsCarrier } from '../contract.ts';
import { MSG_FMT, cmppTimestamp } from '../cmpp/codec.ts';
import { CmppLink } from '../cmpp/cmpp-link.ts';
import { SGIP_LOGIN, SGIP_STATE, sgipMessageId, type SgipPdu } from '../sgip/codec.ts';
import { SGIP_CODEC, SGIP_RESULT } from '../sgip/sgip-connector.ts';
import { DEFAULT_BEHAVIOUR, type ReceivedPart, type SimulatedSmsc, type SmscBehaviour } from './simulated-smsc.ts';
import { StoreAndForward, decodeBody, listen, splitUdh, type Owed, type Receiver } from './store-and-forward.ts';

export const DEFAULT_SGIP_LOGIN = 'geoalert';
export const DEFAULT_SGIP_PASSWORD = 'sim-pass';

export interface SgipGatewayOptions {
  carrier: SmsCarrier;
  port?: number;
  host?: string;
  loginName?: string;
  loginPassword?: string;
  /** Where the SP listens for our connection (Report, Deliver); settable later with `connectBackTo`. */
  sp?: { host: string; port: number };
  /** SMG node number (the first part of the Sequence Numbers it makes). @default 3010099999 */
  nodeId?: number;
  behaviour?: Partial<SmscBehaviour>;
  keep?: number;
  retryMs?: number;
}

export type SimulatedSgipGateway = SimulatedSmsc & { connectBackTo(host: string, port: number): void };

interface Owing extends Owed {
  pdu: Extract<SgipPdu, { command: 'report' | 'deliver' }>;
}

/** Our connection to the SP (Report, Deliver). */
interface BackLink extends Receiver<Owing> {
  link: CmppLink<SgipPdu>;
  bound: boolean;
}

/**
 * A simulated China Unicom SMG speaking SGIP 1.2: takes the SP's Bind (Login Type 1) and Submits,
 * answers each with its Result after a latency (11 "busy" beyond its rate, the fates' codes), and
 * delivers a Report per part and, at a rate, an MO (Deliver) over its own connection to the SP
 * (Bind Login Type 2), sending again what the SP did not answer with Result 0. The behaviour,
 * store-and-forward, statistics and inspection are every simulated gateway's (`store-and-forward.ts`).
 */
export async function startSgipGateway(opts: SgipGatewayOptions): Promise<SimulatedSgipGateway> {
  const carrier = opts.carrier;
  const loginName = opts.loginName ?? DEFAULT_SGIP_LOGIN;
  const loginPassword = opts.loginPassword ?? DEFAULT_SGIP_PASSWORD;
  const nodeId = opts.nodeId ?? 3010099999;
  let sp = opts.sp;
  const sessions = new Set<{ link: CmppLink<SgipPdu>; bound: boolean; submits: number }>();
  let seq = 1;
  let back: BackLink | undefined;
  const saf = new StoreAndForward<Owing, BackLink>({
    carrier,
    behaviour: { ...DEFAULT_BEHAVIOUR, rejectStatus: SGIP_RESULT.BAD_NUMBER, ...opts.behaviour },
    keep: opts.keep,
    retryMs: opts.retryMs,
    receivers: () => {
      if (!back) dialBack();
      return back?.bound && !back.link.gone ? [back] : [];
    },
    // Numbered afresh on each attempt (the link's counter); node and time as made.
    send: (b, item, answered) =>
      b.link.request(item.pdu as Parameters<typeof b.link.request>[0], (resp) => answered('result' in resp ? resp.result : -1)),
  });
  const { counters, rules } = saf;
  const hdr = () => ({ node: nodeId, time: cmppTimestamp(), seq: seq++ });
  const national = (n: string) => /^86(1\d{10})$/.exec(n)?.[1] ?? n;

  /** Our connection to the SP: dialled when something is owed, bound with Login Type 2. */
  const dialBack = () => {
    if (!sp) return;
    const socket = connect(sp);
    const link = new CmppLink<SgipPdu>(
      socket,
      0x12,
      () => undefined,
      () => undefined,
      SGIP_CODEC,
    );
    const b: BackLink = { link, bound: false, pending: new Set() };
    back = b;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (back === b) back = undefined;
      saf.requeue(b);
      if (saf.owing) saf.later(saf.retryMs, saf.pump);
    });
    link.seqSource = () => seq++;
    socket.on('connect', () => {
      link.request(
        { command: 'bind', node: nodeId, time: cmppTimestamp(), loginType: SGIP_LOGIN.SMG_TO_SP, loginName, loginPassword, reserve: '' },
        (resp) => {
          if (resp.command !== 'bind_resp' || resp.result !== 0) {
            socket.destroy();
            return;
          }
          b.bound = true;
          saf.pump();
        },
      );
    });
  };

  const onSubmit = (s: { link: CmppLink<SgipPdu>; submits: number }, pdu: Extract<SgipPdu, { command: 'submit' }>) => {
    const respond = (result: number, record?: () => void) =>
      rules.respond(
        () => s.link.gone,
        () => {
          record?.();
          s.link.write({ command: 'submit_resp', node: pdu.node, time: pdu.time, seq: pdu.seq, result, reserve: '' });
        },
      );
    const destination = national(pdu.userNumbers[0] ?? '');
    const screened = rules.screen(
      s,
      () => {
        s.link.flush();
        s.link.socket.destroy();
      },
      { destination, throttled: SGIP_RESULT.BUSY },
    );
    if ('drop' in screened) return;
    if ('refuse' in screened) return respond(screened.refuse);
    const { body, concat } = splitUdh(pdu.tpUdhi === 1, pdu.content);
    const part: ReceivedPart = {
      at: Date.now(),
      systemId: loginName,
      messageId: sgipMessageId(pdu),
      source: pdu.spNumber,
      destination,
      dataCoding: pdu.messageCoding,
      text: decodeBody(pdu.messageCoding, body),
      concat,
    };
    respond(SGIP_RESULT.OK, () =>
      saf.accept(part, {
        receipt:
          pdu.reportFlag === 1 || pdu.reportFlag === 0
            ? (stat) => ({
                kind: 'receipt',
                attempts: 0,
                pdu: {
                  command: 'report',
                  ...hdr(),
                  submitSequence: { node: pdu.node, time: pdu.time, seq: pdu.seq },
                  reportType: 0,
                  userNumber: pdu.userNumbers[0] ?? '',
                  state: stat === 'DELIVRD' ? SGIP_STATE.DELIVERED : SGIP_STATE.FAILED,
                  errorCode: stat === 'DELIVRD' ? 0 : 1,
                  reserve: '',
                },
              })
            : undefined,
        mo: (whole) => ({
          kind: 'mo',
          attempts: 0,
          pdu: {
            command: 'deliver',
            ...hdr(),
            userNumber: `86${whole.destination}`,
            spNumber: whole.source,
            tpPid: 0,
            tpUdhi: 0,
            messageCoding: MSG_FMT.UCS2,
            content: Buffer.from(rules.moText(whole), 'utf16le').swap16(),
            reserve: '',
          },
        }),
      }),
    );
  };

  const boundCount = () => [...sessions].filter((s) => s.bound).length;
  const server = createServer((socket: Socket) => {
    const s = { link: undefined as unknown as CmppLink<SgipPdu>, bound: false, submits: 0 };
    s.link = new CmppLink<SgipPdu>(
      socket,
      0x12,
      (pdu) => {
        switch (pdu.command) {
          case 'bind': {
            const ok = pdu.loginType === SGIP_LOGIN.SP_TO_SMG && pdu.loginName === loginName && pdu.loginPassword === loginPassword;
            const admitted = ok && rules.admitBind(boundCount());
            s.link.write({
              command: 'bind_resp',
              node: pdu.node,
              time: pdu.time,
              seq: pdu.seq,
              result: admitted ? 0 : SGIP_RESULT.BAD_LOGIN,
              reserve: '',
            });
            if (admitted) s.bound = true;
            else {
              s.link.flush();
              socket.end();
            }
            return;
          }
          case 'unbind':
            s.bound = false;
            s.link.write({ command: 'unbind_resp', node: pdu.node, time: pdu.time, seq: pdu.seq });
            s.link.flush();
            socket.end();
            return;
          case 'submit':
            if (!s.bound) {
              s.link.write({
                command: 'submit_resp',
                node: pdu.node,
                time: pdu.time,
                seq: pdu.seq,
                result: SGIP_RESULT.BAD_LOGIN,
                reserve: '',
              });
              return;
            }
            onSubmit(s, pdu);
            return;
          default:
            return;
        }
      },
      () => undefined,
      SGIP_CODEC,
    );
    sessions.add(s);
    socket.on('error', () => undefined);
    socket.on('close', () => sessions.delete(s));
  });
  const port = await listen(server, opts.port, opts.host);

  return {
    ...saf.surface(port, boundCount),
    connectBackTo(host, p) {
      sp = { host, port: p };
      saf.pump();
    },
    inject(input) {
      const inj = saf.newInjection();
      if ('fields' in input)
        saf.owe({ kind: 'injected', attempts: 0, id: inj.id, pdu: { ...hdr(), ...(input.fields as object) } as Owing['pdu'] });
      return inj;
    },
    dropAll() {
      for (const s of [...sessions]) {
        counters.disconnects++;
        s.link.socket.destroy();
      }
    },
    async close() {
      saf.close();
      back?.link.socket.destroy();
      for (const s of [...sessions]) s.link.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
