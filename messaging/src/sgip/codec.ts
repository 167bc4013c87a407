import { CmppDecodeError, Reader, Writer } from '../cmpp/framing.ts';

/**
 * SGIP 1.2 (中国联通短消息网关系统接口协议) PDUs: the 20-byte header (Message Length, Command ID and a
 * Sequence Number of three integers: source node, MMDDHHMMSS, counter), Bind (Login Type 1 = SP to
 * SMG, 2 = SMG to SP, for the gateway's reverse connection), Unbind, Submit, Deliver, Report and
 * their responses (Result + Reserve). A message is identified by its Submit's whole Sequence Number:
 * a Report names it in SubmitSequenceNumber.
 *
 * Codec only: no SGIP connector or simulated gateway yet (the reverse connection needs messaging to
 * listen for the SMG; see the README).
 */

export const SGIP_HEADER_LENGTH = 20;

export const SGIP_CMD = {
  BIND: 0x1,
  BIND_RESP: 0x80000001,
  UNBIND: 0x2,
  UNBIND_RESP: 0x80000002,
  SUBMIT: 0x3,
  SUBMIT_RESP: 0x80000003,
  DELIVER: 0x4,
  DELIVER_RESP: 0x80000004,
  REPORT: 0x5,
  REPORT_RESP: 0x80000005,
} as const;

/** Login Type of Bind. */
export const SGIP_LOGIN = { SP_TO_SMG: 1, SMG_TO_SP: 2 } as const;
/** Report State: 0 delivered, 1 waiting, 2 failed. */
export const SGIP_STATE = { DELIVERED: 0, WAITING: 1, FAILED: 2 } as const;

/** The 12-byte Sequence Number: source node number, time MMDDHHMMSS, counter. */
export interface SgipSequence {
  node: number;
  time: number;
  seq: number;
}

/** A message id from a Submit's Sequence Number (what a Report's SubmitSequenceNumber names). */
export const sgipMessageId = (s: SgipSequence): string => `${s.node}-${s.time}-${s.seq}`;

export interface SgipSubmit {
  spNumber: string;
  chargeNumber: string;
  userNumbers: string[];
  corpId: string;
  serviceType: string;
  feeType: number;
  feeValue: string;
  givenValue: string;
  agentFlag: number;
  morelatetoMTFlag: number;
  priority: number;
  expireTime: string;
  scheduleTime: string;
  reportFlag: number;
  tpPid: number;
  tpUdhi: number;
  messageCoding: number;
  messageType: number;
  content: Buffer;
  reserve: string;
}

export type SgipPdu = SgipSequence &
  (
    | { command: 'bind'; loginType: number; loginName: string; loginPassword: string; reserve: string }
    | { command: 'bind_resp' | 'submit_resp' | 'deliver_resp' | 'report_resp'; result: number; reserve: string }
    | { command: 'unbind' | 'unbind_resp' }
    | ({ command: 'submit' } & SgipSubmit)
    | {
        command: 'deliver';
        userNumber: string;
        spNumber: string;
        tpPid: number;
        tpUdhi: number;
        messageCoding: number;
        content: Buffer;
        reserve: string;
      }
    | {
        command: 'report';
        submitSequence: SgipSequence;
        reportType: number;
        userNumber: string;
        state: number;
        errorCode: number;
        reserve: string;
      }
  );
export type SgipCommand = SgipPdu['command'];

const IDS: Record<SgipCommand, number> = {
  bind: SGIP_CMD.BIND,
  bind_resp: SGIP_CMD.BIND_RESP,
  unbind: SGIP_CMD.UNBIND,
  unbind_resp: SGIP_CMD.UNBIND_RESP,
  submit: SGIP_CMD.SUBMIT,
  submit_resp: SGIP_CMD.SUBMIT_RESP,
  deliver: SGIP_CMD.DELIVER,
  deliver_resp: SGIP_CMD.DELIVER_RESP,
  report: SGIP_CMD.REPORT,
  report_resp: SGIP_CMD.REPORT_RESP,
};
const NAMES = new Map<number, SgipCommand>(Object.entries(IDS).map(([k, v]) => [v, k as SgipCommand]));

export function encodeSgip(pdu: SgipPdu): Buffer {
  const w = new Writer();
  w.u32(0);
  w.u32(IDS[pdu.command]);
  w.u32(pdu.node);
  w.u32(pdu.time);
  w.u32(pdu.seq);
  switch (pdu.command) {
    case 'bind':
      w.u8(pdu.loginType);
      w.str(pdu.loginName, 16, 'Login Name');
      w.str(pdu.loginPassword, 16, 'Login Password');
      w.str(pdu.reserve, 8, 'Reserve');
      break;
    case 'bind_resp':
    case 'submit_resp':
    case 'deliver_resp':
    case 'report_resp':
      w.u8(pdu.result);
      w.str(pdu.reserve, 8, 'Reserve');
      break;
    case 'submit':
      if (pdu.userNumbers.length < 1 || pdu.userNumbers.length > 100) throw new RangeError(`SGIP UserCount ${pdu.userNumbers.length}`);
      w.str(pdu.spNumber, 21, 'SPNumber');
      w.str(pdu.chargeNumber, 21, 'ChargeNumber');
      w.u8(pdu.userNumbers.length);
      for (const u of pdu.userNumbers) w.str(u, 21, 'UserNumber');
      w.str(pdu.corpId, 5, 'CorpId');
      w.str(pdu.serviceType, 10, 'ServiceType');
      w.u8(pdu.feeType);
      w.str(pdu.feeValue, 6, 'FeeValue');
      w.str(pdu.givenValue, 6, 'GivenValue');
      w.u8(pdu.agentFlag);
      w.u8(pdu.morelatetoMTFlag);
      w.u8(pdu.priority);
      w.str(pdu.expireTime, 16, 'ExpireTime');
      w.str(pdu.scheduleTime, 16, 'ScheduleTime');
      w.u8(pdu.reportFlag);
      w.u8(pdu.tpPid);
      w.u8(pdu.tpUdhi);
      w.u8(pdu.messageCoding);
      w.u8(pdu.messageType);
      w.u32(pdu.content.length);
      w.bytes(pdu.content);
      w.str(pdu.reserve, 8, 'Reserve');
      break;
    case 'deliver':
      w.str(pdu.userNumber, 21, 'UserNumber');
      w.str(pdu.spNumber, 21, 'SPNumber');
      w.u8(pdu.tpPid);
      w.u8(pdu.tpUdhi);
      w.u8(pdu.messageCoding);
      w.u32(pdu.content.length);
      w.bytes(pdu.content);
      w.str(pdu.reserve, 8, 'Reserve');
      break;
    case 'report':
      w.u32(pdu.submitSequence.node);
      w.u32(pdu.submitSequence.time);
      w.u32(pdu.submitSequence.seq);
      w.u8(pdu.reportType);
      w.str(pdu.userNumber, 21, 'UserNumber');
      w.u8(pdu.state);
      w.u8(pdu.errorCode);
      w.str(pdu.reserve, 8, 'Reserve');
      break;
    default:
      break;
  }
  const out = w.done();
  out.writeUInt32BE(out.length, 0);
  return out;
}

/** Decodes one whole PDU; throws {@link CmppDecodeError} for what is not an SGIP 1.2 PDU. */
export function decodeSgip(frame: Buffer): SgipPdu {
  if (frame.length < SGIP_HEADER_LENGTH) throw new CmppDecodeError(`SGIP header: ${frame.length} bytes (20 needed)`);
  const length = frame.readUInt32BE(0);
  if (length !== frame.length) throw new CmppDecodeError(`SGIP Message Length ${length} but ${frame.length} bytes`);
  const id = frame.readUInt32BE(4);
  const command = NAMES.get(id);
  if (!command) throw new CmppDecodeError(`SGIP Command ID 0x${id.toString(16).padStart(8, '0')} not supported`);
  const sq: SgipSequence = { node: frame.readUInt32BE(8), time: frame.readUInt32BE(12), seq: frame.readUInt32BE(16) };
  const r = new Reader(frame.subarray(SGIP_HEADER_LENGTH), `SGIP ${command}`);
  let pdu: SgipPdu;
  switch (command) {
    case 'bind':
      pdu = { command, ...sq, loginType: r.u8(), loginName: r.str(16), loginPassword: r.str(16), reserve: r.str(8) };
      break;
    case 'bind_resp':
    case 'submit_resp':
    case 'deliver_resp':
    case 'report_resp':
      pdu = { command, ...sq, result: r.u8(), reserve: r.str(8) };
      break;
    case 'unbind':
    case 'unbind_resp':
      pdu = { command, ...sq };
      break;
    case 'submit': {
      const spNumber = r.str(21);
      const chargeNumber = r.str(21);
      const n = r.u8();
      if (n < 1 || n > 100) throw new CmppDecodeError(`SGIP submit: UserCount ${n}`);
      const userNumbers: string[] = [];
      for (let i = 0; i < n; i++) userNumbers.push(r.str(21));
      const corpId = r.str(5);
      const serviceType = r.str(10);
      const feeType = r.u8();
      const feeValue = r.str(6);
      const givenValue = r.str(6);
      const agentFlag = r.u8();
      const morelatetoMTFlag = r.u8();
      const priority = r.u8();
      const expireTime = r.str(16);
      const scheduleTime = r.str(16);
      const reportFlag = r.u8();
      const tpPid = r.u8();
      const tpUdhi = r.u8();
      const messageCoding = r.u8();
      const messageType = r.u8();
      const len = r.u32();
      if (len > 2000) throw new CmppDecodeError(`SGIP submit: MessageLength ${len}`);
      const content = Buffer.from(r.bytes(len));
      const reserve = r.str(8);
      pdu = {
        command,
        ...sq,
        spNumber,
        chargeNumber,
        userNumbers,
        corpId,
        serviceType,
        feeType,
        feeValue,
        givenValue,
        agentFlag,
        morelatetoMTFlag,
        priority,
        expireTime,
        scheduleTime,
        reportFlag,
        tpPid,
        tpUdhi,
        messageCoding,
        messageType,
        content,
        reserve,
      };
      break;
    }
    case 'deliver': {
      const userNumber = r.str(21);
      const spNumber = r.str(21);
      const tpPid = r.u8();
      const tpUdhi = r.u8();
      const messageCoding = r.u8();
      const len = r.u32();
      if (len > 2000) throw new CmppDecodeError(`SGIP deliver: MessageLength ${len}`);
      const content = Buffer.from(r.bytes(len));
      pdu = { command, ...sq, userNumber, spNumber, tpPid, tpUdhi, messageCoding, content, reserve: r.str(8) };
      break;
    }
    case 'report': {
      const submitSequence = { node: r.u32(), time: r.u32(), seq: r.u32() };
      pdu = {
        command,
        ...sq,
        submitSequence,
        reportType: r.u8(),
        userNumber: r.str(21),
        state: r.u8(),
        errorCode: r.u8(),
        reserve: r.str(8),
      };
      break;
    }
  }
  if (r.left !== 0) throw new CmppDecodeError(`SGIP ${command}: ${r.left} bytes left over after the body`);
  return pdu;
}
