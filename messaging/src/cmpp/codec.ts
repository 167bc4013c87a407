import { createHash } from 'node:crypto';
import { CmppDecodeError, HEADER_LENGTH, Reader, Writer } from './framing.ts';

export { CmppDecodeError, HEADER_LENGTH, MAX_PDU_LENGTH } from './framing.ts';

/**
 * CMPP 3.0 and 2.0 (中国移动互联网短信网关接口协议) PDUs: the 12-byte header and the bodies of
 * CONNECT, SUBMIT, DELIVER (MO and status report), ACTIVE_TEST, TERMINATE and their responses.
 * Integers are big-endian; Octet Strings are fixed width, left-aligned and padded with NUL bytes.
 * The fields whose width differs between the versions (terminal ids 32 vs 21 bytes, the terminal
 * types, LinkID vs Reserve, 4-byte vs 1-byte results) follow `version`.
 * One file over 400 lines on purpose: each PDU's encode and decode are read side by side against the
 * specification's tables; the shared fields and framing live in `framing.ts`.
 */

/** Default CMPP account of the simulated gateway and the connector (SP 企业代码 and shared secret). */
export const DEFAULT_CMPP_SP_ID = '901001';
export const DEFAULT_CMPP_SECRET = 'sim-pass';

export const CMPP_VERSION_30 = 0x30;
export const CMPP_VERSION_20 = 0x20;
export type CmppVersion = typeof CMPP_VERSION_30 | typeof CMPP_VERSION_20;

export const CMD = {
  CONNECT: 0x00000001,
  CONNECT_RESP: 0x80000001,
  TERMINATE: 0x00000002,
  TERMINATE_RESP: 0x80000002,
  SUBMIT: 0x00000004,
  SUBMIT_RESP: 0x80000004,
  DELIVER: 0x00000005,
  DELIVER_RESP: 0x80000005,
  ACTIVE_TEST: 0x00000008,
  ACTIVE_TEST_RESP: 0x80000008,
} as const;

/** CMPP_SUBMIT_RESP Result values (3.0 §7.4.3.2). */
export const SUBMIT_RESULT = {
  OK: 0,
  BAD_STRUCTURE: 1,
  BAD_COMMAND: 2,
  DUPLICATE_SEQUENCE: 3,
  BAD_LENGTH: 4,
  BAD_FEE_CODE: 5,
  TOO_LONG: 6,
  BAD_SERVICE_ID: 7,
  /** 流量控制错: over the account's rate; the submit may be sent again. */
  FLOW_CONTROL: 8,
  /** 本网关不负责服务此计费号码 (3.0). */
  NOT_SERVED: 9,
  BAD_SRC_ID: 10,
  BAD_MSG_SRC: 11,
  BAD_FEE_TERMINAL: 12,
  BAD_DEST_TERMINAL: 13,
} as const;

/** CMPP_CONNECT_RESP Status values. */
export const CONNECT_STATUS = { OK: 0, BAD_STRUCTURE: 1, BAD_SOURCE: 2, AUTH_FAILED: 3, VERSION_TOO_HIGH: 4, OTHER: 5 } as const;

/** Msg_Fmt: the coding of Msg_Content. */
export const MSG_FMT = { ASCII: 0, BINARY: 4, UCS2: 8, GB: 15 } as const;

export interface CmppSubmit {
  /** Set by the gateway; 0 from an SP. */
  msgId: bigint;
  pkTotal: number;
  pkNumber: number;
  /** 1: a status report is wanted. */
  registeredDelivery: number;
  msgLevel: number;
  /** 业务代码 (≤ 10). */
  serviceId: string;
  /** 0 charge the destination, 1 the source, 2 the SP, 3 Fee_terminal_Id. */
  feeUserType: number;
  feeTerminalId: string;
  /** 3.0 only: 0 real number, 1 pseudo. */
  feeTerminalType: number;
  tpPid: number;
  /** 1: Msg_Content starts with a user data header (long-message concatenation). */
  tpUdhi: number;
  msgFmt: number;
  /** 信息内容来源: the SP's enterprise code (6). */
  msgSrc: string;
  /** 资费类别: 01 free, 02 per message, 03 monthly, 04 capped, 05 SP-charged. */
  feeType: string;
  /** 资费代码, in fen (≤ 6). */
  feeCode: string;
  validTime: string;
  atTime: string;
  /** 源号码: the SP number (接入号) and its extension (≤ 21). */
  srcId: string;
  destTerminalIds: string[];
  /** 3.0 only. */
  destTerminalType: number;
  content: Buffer;
  /** 3.0: LinkID (≤ 20); 2.0: Reserve (≤ 8). */
  linkId: string;
}

export interface CmppDeliver {
  msgId: bigint;
  /** The SP number (and extension) the handset sent to. */
  destId: string;
  serviceId: string;
  tpPid: number;
  tpUdhi: number;
  msgFmt: number;
  /** The handset (MO sender), or for a report the number the message went to. */
  srcTerminalId: string;
  /** 3.0 only. */
  srcTerminalType: number;
  /** 0 MO, 1 status report (Msg_Content is a {@link CmppReport}). */
  registeredDelivery: number;
  content: Buffer;
  linkId: string;
}

/** The Msg_Content of a status report (CMPP_DELIVER with Registered_Delivery 1). */
export interface CmppReport {
  /** The Msg_Id the gateway gave in CMPP_SUBMIT_RESP. */
  msgId: bigint;
  /** DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD or a gateway code (7 characters). */
  stat: string;
  /** YYMMDDHHMM. */
  submitTime: string;
  doneTime: string;
  destTerminalId: string;
  smscSequence: number;
}

export type CmppPdu = { seq: number } & (
  | { command: 'connect'; sourceAddr: string; authenticator: Buffer; version: number; timestamp: number }
  | { command: 'connect_resp'; status: number; authenticator: Buffer; version: number }
  | { command: 'terminate' }
  | { command: 'terminate_resp' }
  | { command: 'active_test' }
  | { command: 'active_test_resp' }
  | ({ command: 'submit' } & CmppSubmit)
  | { command: 'submit_resp'; msgId: bigint; result: number }
  | ({ command: 'deliver' } & CmppDeliver)
  | { command: 'deliver_resp'; msgId: bigint; result: number }
);
export type CmppCommand = CmppPdu['command'];

const COMMAND_IDS: Record<CmppCommand, number> = {
  connect: CMD.CONNECT,
  connect_resp: CMD.CONNECT_RESP,
  terminate: CMD.TERMINATE,
  terminate_resp: CMD.TERMINATE_RESP,
  active_test: CMD.ACTIVE_TEST,
  active_test_resp: CMD.ACTIVE_TEST_RESP,
  submit: CMD.SUBMIT,
  submit_resp: CMD.SUBMIT_RESP,
  deliver: CMD.DELIVER,
  deliver_resp: CMD.DELIVER_RESP,
};
const COMMANDS = new Map<number, CmppCommand>(Object.entries(COMMAND_IDS).map(([k, v]) => [v, k as CmppCommand]));

/** Terminal id width: 32 bytes in 3.0, 21 in 2.0. */
const terminalWidth = (v: number) => (v === CMPP_VERSION_20 ? 21 : 32);

/** Encodes one PDU, header included. */
export function encodeCmpp(pdu: CmppPdu, version: number = CMPP_VERSION_30): Buffer {
  const v30 = version !== CMPP_VERSION_20;
  const tw = terminalWidth(version);
  const w = new Writer();
  w.u32(0); // Total_Length, set below
  w.u32(COMMAND_IDS[pdu.command]);
  w.u32(pdu.seq);
  switch (pdu.command) {
    case 'connect':
      w.str(pdu.sourceAddr, 6, 'Source_Addr');
      w.bytes(fixed(pdu.authenticator, 16));
      w.u8(pdu.version);
      w.u32(pdu.timestamp);
      break;
    case 'connect_resp':
      if (v30) w.u32(pdu.status);
      else w.u8(pdu.status);
      w.bytes(fixed(pdu.authenticator, 16));
      w.u8(pdu.version);
      break;
    case 'terminate':
    case 'terminate_resp':
    case 'active_test':
      break;
    case 'active_test_resp':
      w.u8(0); // Reserved
      break;
    case 'submit': {
      if (pdu.destTerminalIds.length < 1 || pdu.destTerminalIds.length > 100)
        throw new RangeError(`CMPP DestUsr_tl: ${pdu.destTerminalIds.length} numbers (1 to 100)`);
      if (pdu.content.length > 255) throw new RangeError(`CMPP Msg_Length: ${pdu.content.length} bytes (at most 255)`);
      w.u64(pdu.msgId);
      w.u8(pdu.pkTotal);
      w.u8(pdu.pkNumber);
      w.u8(pdu.registeredDelivery);
      w.u8(pdu.msgLevel);
      w.str(pdu.serviceId, 10, 'Service_Id');
      w.u8(pdu.feeUserType);
      w.str(pdu.feeTerminalId, tw, 'Fee_terminal_Id');
      if (v30) w.u8(pdu.feeTerminalType);
      w.u8(pdu.tpPid);
      w.u8(pdu.tpUdhi);
      w.u8(pdu.msgFmt);
      w.str(pdu.msgSrc, 6, 'Msg_src');
      w.str(pdu.feeType, 2, 'FeeType');
      w.str(pdu.feeCode, 6, 'FeeCode');
      w.str(pdu.validTime, 17, 'ValId_Time');
      w.str(pdu.atTime, 17, 'At_Time');
      w.str(pdu.srcId, 21, 'Src_Id');
      w.u8(pdu.destTerminalIds.length);
      for (const d of pdu.destTerminalIds) w.str(d, tw, 'Dest_terminal_Id');
      if (v30) w.u8(pdu.destTerminalType);
      w.u8(pdu.content.length);
      w.bytes(pdu.content);
      w.str(pdu.linkId, v30 ? 20 : 8, v30 ? 'LinkID' : 'Reserve');
      break;
    }
    case 'submit_resp':
    case 'deliver_resp':
      w.u64(pdu.msgId);
      if (v30) w.u32(pdu.result);
      else w.u8(pdu.result);
      break;
    case 'deliver':
      if (pdu.content.length > 255) throw new RangeError(`CMPP Msg_Length: ${pdu.content.length} bytes (at most 255)`);
      w.u64(pdu.msgId);
      w.str(pdu.destId, 21, 'Dest_Id');
      w.str(pdu.serviceId, 10, 'Service_Id');
      w.u8(pdu.tpPid);
      w.u8(pdu.tpUdhi);
      w.u8(pdu.msgFmt);
      w.str(pdu.srcTerminalId, tw, 'Src_terminal_Id');
      if (v30) w.u8(pdu.srcTerminalType);
      w.u8(pdu.registeredDelivery);
      w.u8(pdu.content.length);
      w.bytes(pdu.content);
      w.str(pdu.linkId, v30 ? 20 : 8, v30 ? 'LinkID' : 'Reserve');
      break;
  }
  const out = w.done();
  out.writeUInt32BE(out.length, 0);
  return out;
}

const fixed = (b: Buffer, n: number) => {
  if (b.length === n) return b;
  const out = Buffer.alloc(n);
  b.copy(out, 0, 0, Math.min(n, b.length));
  return out;
};

/** The command and sequence of a whole PDU, before its body is decoded. */
export function readHeader(frame: Buffer): { length: number; commandId: number; command?: CmppCommand; seq: number } {
  if (frame.length < HEADER_LENGTH) throw new CmppDecodeError(`CMPP header: ${frame.length} bytes (12 needed)`);
  const commandId = frame.readUInt32BE(4);
  return { length: frame.readUInt32BE(0), commandId, command: COMMANDS.get(commandId), seq: frame.readUInt32BE(8) };
}

/** Decodes one whole PDU (header included). Throws {@link CmppDecodeError} for what is not a CMPP PDU of `version`. */
export function decodeCmpp(frame: Buffer, version: number = CMPP_VERSION_30): CmppPdu {
  const h = readHeader(frame);
  if (h.length !== frame.length) throw new CmppDecodeError(`CMPP Total_Length ${h.length} but ${frame.length} bytes`);
  if (!h.command) throw new CmppDecodeError(`CMPP Command_Id 0x${h.commandId.toString(16).padStart(8, '0')} not supported`);
  const v30 = version !== CMPP_VERSION_20;
  const tw = terminalWidth(version);
  const r = new Reader(frame.subarray(HEADER_LENGTH), h.command);
  const seq = h.seq;
  let pdu: CmppPdu;
  switch (h.command) {
    case 'connect':
      pdu = { command: 'connect', seq, sourceAddr: r.str(6), authenticator: Buffer.from(r.bytes(16)), version: r.u8(), timestamp: r.u32() };
      break;
    case 'connect_resp':
      pdu = { command: 'connect_resp', seq, status: v30 ? r.u32() : r.u8(), authenticator: Buffer.from(r.bytes(16)), version: r.u8() };
      break;
    case 'terminate':
    case 'terminate_resp':
    case 'active_test':
    case 'active_test_resp':
      // ACTIVE_TEST_RESP carries one reserved byte, which some gateways leave out.
      pdu = { command: h.command, seq };
      r.at = frame.length - HEADER_LENGTH;
      break;
    case 'submit': {
      const msgId = r.u64();
      const pkTotal = r.u8();
      const pkNumber = r.u8();
      const registeredDelivery = r.u8();
      const msgLevel = r.u8();
      const serviceId = r.str(10);
      const feeUserType = r.u8();
      const feeTerminalId = r.str(tw);
      const feeTerminalType = v30 ? r.u8() : 0;
      const tpPid = r.u8();
      const tpUdhi = r.u8();
      const msgFmt = r.u8();
      const msgSrc = r.str(6);
      const feeType = r.str(2);
      const feeCode = r.str(6);
      const validTime = r.str(17);
      const atTime = r.str(17);
      const srcId = r.str(21);
      const n = r.u8();
      if (n < 1 || n > 100) throw new CmppDecodeError(`CMPP submit: DestUsr_tl ${n} (1 to 100)`);
      const destTerminalIds: string[] = [];
      for (let i = 0; i < n; i++) destTerminalIds.push(r.str(tw));
      const destTerminalType = v30 ? r.u8() : 0;
      const len = r.u8();
      const content = Buffer.from(r.bytes(len));
      const linkId = r.str(v30 ? 20 : 8);
      pdu = {
        command: 'submit',
        seq,
        msgId,
        pkTotal,
        pkNumber,
        registeredDelivery,
        msgLevel,
        serviceId,
        feeUserType,
        feeTerminalId,
        feeTerminalType,
        tpPid,
        tpUdhi,
        msgFmt,
        msgSrc,
        feeType,
        feeCode,
        validTime,
        atTime,
        srcId,
        destTerminalIds,
        destTerminalType,
        content,
        linkId,
      };
      break;
    }
    case 'submit_resp':
    case 'deliver_resp':
      pdu = { command: h.command, seq, msgId: r.u64(), result: v30 ? r.u32() : r.u8() };
      break;
    case 'deliver': {
      const msgId = r.u64();
      const destId = r.str(21);
      const serviceId = r.str(10);
      const tpPid = r.u8();
      const tpUdhi = r.u8();
      const msgFmt = r.u8();
      const srcTerminalId = r.str(tw);
      const srcTerminalType = v30 ? r.u8() : 0;
      const registeredDelivery = r.u8();
      const len = r.u8();
      const content = Buffer.from(r.bytes(len));
      const linkId = r.str(v30 ? 20 : 8);
      pdu = {
        command: 'deliver',
        seq,
        msgId,
        destId,
        serviceId,
        tpPid,
        tpUdhi,
        msgFmt,
        srcTerminalId,
        srcTerminalType,
        registeredDelivery,
        content,
        linkId,
      };
      break;
    }
  }
  if (r.at !== frame.length - HEADER_LENGTH)
    throw new CmppDecodeError(`CMPP ${h.command}: ${frame.length - HEADER_LENGTH - r.at} bytes left over after the body`);
  return pdu;
}

/** Encodes a status report's Msg_Content (71 bytes in 3.0, 60 in 2.0). */
export function encodeReport(r: CmppReport, version: number = CMPP_VERSION_30): Buffer {
  const w = new Writer(80);
  w.u64(r.msgId);
  w.str(r.stat, 7, 'Stat');
  w.str(r.submitTime, 10, 'Submit_time');
  w.str(r.doneTime, 10, 'Done_time');
  w.str(r.destTerminalId, terminalWidth(version), 'Dest_terminal_Id');
  w.u32(r.smscSequence);
  return w.done();
}

export function decodeReport(content: Buffer, version: number = CMPP_VERSION_30): CmppReport {
  const tw = terminalWidth(version);
  if (content.length !== 8 + 7 + 10 + 10 + tw + 4)
    throw new CmppDecodeError(`CMPP status report: ${content.length} bytes (${8 + 7 + 10 + 10 + tw + 4} expected)`);
  const r = new Reader(content, 'status report');
  return { msgId: r.u64(), stat: r.str(7), submitTime: r.str(10), doneTime: r.str(10), destTerminalId: r.str(tw), smscSequence: r.u32() };
}

/** MMDDHHMMSS of `at` in China Standard Time (UTC+8), as CONNECT's Timestamp counts it. */
export function cmppTimestamp(at: Date = new Date()): number {
  const d = new Date(at.getTime() + 8 * 3600_000);
  return Number(
    [d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      .map((n) => String(n).padStart(2, '0'))
      .join(''),
  );
}

/** YYMMDDHHMM of `at` in China Standard Time (a status report's Submit_time / Done_time). */
export function cmppReportTime(at: Date): string {
  const d = new Date(at.getTime() + 8 * 3600_000);
  return [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()]
    .map((n) => String(n).padStart(2, '0'))
    .join('');
}

/**
 * AuthenticatorSource = MD5(Source_Addr + 9 bytes of 0 + shared secret + timestamp), the timestamp
 * as its 10 digits MMDDHHMMSS (leading zero kept).
 */
export function authenticatorSource(sourceAddr: string, secret: string, timestamp: number): Buffer {
  return createHash('md5')
    .update(Buffer.from(sourceAddr, 'latin1'))
    .update(Buffer.alloc(9))
    .update(Buffer.from(secret, 'latin1'))
    .update(String(timestamp).padStart(10, '0'))
    .digest();
}

/**
 * AuthenticatorISMG = MD5(Status + AuthenticatorSource + shared secret), Status as it goes on the
 * wire (4 bytes in 3.0, 1 in 2.0).
 */
export function authenticatorIsmg(status: number, source: Buffer, secret: string, version: number = CMPP_VERSION_30): Buffer {
  const st = version === CMPP_VERSION_20 ? Buffer.from([status & 0xff]) : Buffer.alloc(4);
  if (version !== CMPP_VERSION_20) st.writeUInt32BE(status >>> 0);
  return createHash('md5').update(st).update(source).update(Buffer.from(secret, 'latin1')).digest();
}

/**
 * A gateway Msg_Id (3.0 §7.4.3.2): month (4 bits), day (5), hour (5), minute (6), second (6),
 * gateway code (22) and sequence (16), in China Standard Time.
 */
export function makeMsgId(at: Date, gateway: number, sequence: number): bigint {
  const d = new Date(at.getTime() + 8 * 3600_000);
  let v = BigInt(d.getUTCMonth() + 1);
  v = (v << 5n) | BigInt(d.getUTCDate());
  v = (v << 5n) | BigInt(d.getUTCHours());
  v = (v << 6n) | BigInt(d.getUTCMinutes());
  v = (v << 6n) | BigInt(d.getUTCSeconds());
  v = (v << 22n) | BigInt(gateway & 0x3fffff);
  v = (v << 16n) | BigInt(sequence & 0xffff);
  return v;
}
