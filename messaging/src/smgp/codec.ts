import { createHash } from 'node:crypto';
import { readHeader } from '../cmpp/codec.ts';
import { CmppDecodeError, HEADER_LENGTH, Reader, Writer } from '../cmpp/framing.ts';

/**
 * SMGP 3.0 (中国电信短消息网关协议) PDUs: the 12-byte header (Packet_Length, Request_ID, Sequence_ID,
 * as CMPP's), Login, Submit (with the optional TLVs TP_udhi, PkTotal, PkNumber), Deliver (MO and
 * status report), Active_Test, Exit and their responses. MsgID is 10 bytes, kept as its 20 hex
 * digits. Integers big-endian, Octet Strings fixed width and NUL-padded.
 */

/** Default SMGP account of the simulated gateway and the connector. */
export const DEFAULT_SMGP_CLIENT_ID = 'geoalert';
export const DEFAULT_SMGP_SECRET = 'sim-pass';

export const SMGP_VERSION_30 = 0x30;

export const SMGP_CMD = {
  LOGIN: 0x00000001,
  LOGIN_RESP: 0x80000001,
  SUBMIT: 0x00000002,
  SUBMIT_RESP: 0x80000002,
  DELIVER: 0x00000003,
  DELIVER_RESP: 0x80000003,
  ACTIVE_TEST: 0x00000004,
  ACTIVE_TEST_RESP: 0x80000004,
  EXIT: 0x00000006,
  EXIT_RESP: 0x80000006,
} as const;

/** Status values used here (SMGP 3.0 §8). */
export const SMGP_STATUS = {
  OK: 0,
  /** 系统忙: try again later. */
  BUSY: 1,
  TOO_MANY_CONNECTIONS: 2,
  BAD_STRUCTURE: 10,
  BAD_COMMAND: 11,
  AUTH_FAILED: 21,
  VERSION_TOO_HIGH: 22,
  BAD_DEST_TERM_ID: 47,
} as const;

/** Optional parameter tags (TLV) of Submit and Deliver. */
export const SMGP_TLV = { TP_PID: 0x0001, TP_UDHI: 0x0002, LINK_ID: 0x0003, PK_TOTAL: 0x0009, PK_NUMBER: 0x000a } as const;

/** LoginMode: 0 send (SP → gateway), 1 receive, 2 both (one link for submits and delivers). */
export const LOGIN_MODE = { SEND: 0, RECEIVE: 1, TRANSMIT: 2 } as const;
/** MsgType: 6 = MT (to a handset), 0 = MO. */
export const MSG_TYPE_MT = 6;

export interface SmgpSubmit {
  msgType: number;
  needReport: number;
  priority: number;
  serviceId: string;
  feeType: string;
  feeCode: string;
  fixedFee: string;
  msgFormat: number;
  validTime: string;
  atTime: string;
  /** SP access number + extension. */
  srcTermId: string;
  chargeTermId: string;
  destTermIds: string[];
  content: Buffer;
  reserve: string;
  /** Optional parameters by tag (values as bytes). */
  tlvs: Map<number, Buffer>;
}

export interface SmgpDeliver {
  /** 20 hex digits. */
  msgId: string;
  /** 1: a status report. */
  isReport: number;
  msgFormat: number;
  recvTime: string;
  srcTermId: string;
  destTermId: string;
  content: Buffer;
  reserve: string;
  tlvs: Map<number, Buffer>;
}

export type SmgpPdu = { seq: number } & (
  | { command: 'login'; clientId: string; authenticator: Buffer; loginMode: number; timestamp: number; version: number }
  | { command: 'login_resp'; status: number; authenticator: Buffer; version: number }
  | ({ command: 'submit' } & SmgpSubmit)
  | { command: 'submit_resp'; msgId: string; status: number }
  | ({ command: 'deliver' } & SmgpDeliver)
  | { command: 'deliver_resp'; msgId: string; status: number }
  | { command: 'active_test' }
  | { command: 'active_test_resp' }
  | { command: 'exit' }
  | { command: 'exit_resp' }
);
export type SmgpCommand = SmgpPdu['command'];

const IDS: Record<SmgpCommand, number> = {
  login: SMGP_CMD.LOGIN,
  login_resp: SMGP_CMD.LOGIN_RESP,
  submit: SMGP_CMD.SUBMIT,
  submit_resp: SMGP_CMD.SUBMIT_RESP,
  deliver: SMGP_CMD.DELIVER,
  deliver_resp: SMGP_CMD.DELIVER_RESP,
  active_test: SMGP_CMD.ACTIVE_TEST,
  active_test_resp: SMGP_CMD.ACTIVE_TEST_RESP,
  exit: SMGP_CMD.EXIT,
  exit_resp: SMGP_CMD.EXIT_RESP,
};
const NAMES = new Map<number, SmgpCommand>(Object.entries(IDS).map(([k, v]) => [v, k as SmgpCommand]));

const msgIdBytes = (hex: string) => {
  if (!/^[0-9a-f]{20}$/i.test(hex)) throw new RangeError(`SMGP MsgID: "${hex}" is not 20 hex digits`);
  return Buffer.from(hex, 'hex');
};

function writeTlvs(w: Writer, tlvs: Map<number, Buffer>) {
  for (const [tag, v] of [...tlvs.entries()].sort((a, b) => a[0] - b[0])) {
    w.u16(tag);
    w.u16(v.length);
    w.bytes(v);
  }
}

function readTlvs(r: Reader): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  while (r.left > 0) {
    if (r.left < 4) throw new CmppDecodeError(`SMGP optional parameter: ${r.left} stray bytes`);
    const tag = r.u16();
    const len = r.u16();
    out.set(tag, Buffer.from(r.bytes(len)));
  }
  return out;
}

export function encodeSmgp(pdu: SmgpPdu): Buffer {
  const w = new Writer();
  w.u32(0);
  w.u32(IDS[pdu.command]);
  w.u32(pdu.seq);
  switch (pdu.command) {
    case 'login':
      w.str(pdu.clientId, 8, 'ClientID');
      w.bytes(pdu.authenticator.subarray(0, 16));
      w.u8(pdu.loginMode);
      w.u32(pdu.timestamp);
      w.u8(pdu.version);
      break;
    case 'login_resp':
      w.u32(pdu.status);
      w.bytes(Buffer.concat([pdu.authenticator, Buffer.alloc(16)]).subarray(0, 16));
      w.u8(pdu.version);
      break;
    case 'submit':
      if (pdu.destTermIds.length < 1 || pdu.destTermIds.length > 100)
        throw new RangeError(`SMGP DestTermIDCount ${pdu.destTermIds.length}`);
      if (pdu.content.length > 255) throw new RangeError(`SMGP MsgLength ${pdu.content.length}`);
      w.u8(pdu.msgType);
      w.u8(pdu.needReport);
      w.u8(pdu.priority);
      w.str(pdu.serviceId, 10, 'ServiceID');
      w.str(pdu.feeType, 2, 'FeeType');
      w.str(pdu.feeCode, 6, 'FeeCode');
      w.str(pdu.fixedFee, 6, 'FixedFee');
      w.u8(pdu.msgFormat);
      w.str(pdu.validTime, 17, 'ValidTime');
      w.str(pdu.atTime, 17, 'AtTime');
      w.str(pdu.srcTermId, 21, 'SrcTermID');
      w.str(pdu.chargeTermId, 21, 'ChargeTermID');
      w.u8(pdu.destTermIds.length);
      for (const d of pdu.destTermIds) w.str(d, 21, 'DestTermID');
      w.u8(pdu.content.length);
      w.bytes(pdu.content);
      w.str(pdu.reserve, 8, 'Reserve');
      writeTlvs(w, pdu.tlvs);
      break;
    case 'submit_resp':
    case 'deliver_resp':
      w.bytes(msgIdBytes(pdu.msgId));
      w.u32(pdu.status);
      break;
    case 'deliver':
      if (pdu.content.length > 255) throw new RangeError(`SMGP MsgLength ${pdu.content.length}`);
      w.bytes(msgIdBytes(pdu.msgId));
      w.u8(pdu.isReport);
      w.u8(pdu.msgFormat);
      w.str(pdu.recvTime, 14, 'RecvTime');
      w.str(pdu.srcTermId, 21, 'SrcTermID');
      w.str(pdu.destTermId, 21, 'DestTermID');
      w.u8(pdu.content.length);
      w.bytes(pdu.content);
      w.str(pdu.reserve, 8, 'Reserve');
      writeTlvs(w, pdu.tlvs);
      break;
    default:
      break;
  }
  const out = w.done();
  out.writeUInt32BE(out.length, 0);
  return out;
}

export function decodeSmgp(frame: Buffer): SmgpPdu {
  const h = readHeader(frame);
  if (h.length !== frame.length) throw new CmppDecodeError(`SMGP Packet_Length ${h.length} but ${frame.length} bytes`);
  const command = NAMES.get(h.commandId);
  if (!command) throw new CmppDecodeError(`SMGP Request_ID 0x${h.commandId.toString(16).padStart(8, '0')} not supported`);
  const r = new Reader(frame.subarray(HEADER_LENGTH), `SMGP ${command}`);
  const seq = h.seq;
  let pdu: SmgpPdu;
  switch (command) {
    case 'login':
      pdu = {
        command,
        seq,
        clientId: r.str(8),
        authenticator: Buffer.from(r.bytes(16)),
        loginMode: r.u8(),
        timestamp: r.u32(),
        version: r.u8(),
      };
      break;
    case 'login_resp':
      pdu = { command, seq, status: r.u32(), authenticator: Buffer.from(r.bytes(16)), version: r.u8() };
      break;
    case 'submit': {
      const msgType = r.u8();
      const needReport = r.u8();
      const priority = r.u8();
      const serviceId = r.str(10);
      const feeType = r.str(2);
      const feeCode = r.str(6);
      const fixedFee = r.str(6);
      const msgFormat = r.u8();
      const validTime = r.str(17);
      const atTime = r.str(17);
      const srcTermId = r.str(21);
      const chargeTermId = r.str(21);
      const n = r.u8();
      if (n < 1 || n > 100) throw new CmppDecodeError(`SMGP submit: DestTermIDCount ${n}`);
      const destTermIds: string[] = [];
      for (let i = 0; i < n; i++) destTermIds.push(r.str(21));
      const content = Buffer.from(r.bytes(r.u8()));
      const reserve = r.str(8);
      pdu = {
        command,
        seq,
        msgType,
        needReport,
        priority,
        serviceId,
        feeType,
        feeCode,
        fixedFee,
        msgFormat,
        validTime,
        atTime,
        srcTermId,
        chargeTermId,
        destTermIds,
        content,
        reserve,
        tlvs: readTlvs(r),
      };
      break;
    }
    case 'submit_resp':
    case 'deliver_resp':
      pdu = { command, seq, msgId: r.bytes(10).toString('hex'), status: r.u32() };
      break;
    case 'deliver': {
      const msgId = r.bytes(10).toString('hex');
      const isReport = r.u8();
      const msgFormat = r.u8();
      const recvTime = r.str(14);
      const srcTermId = r.str(21);
      const destTermId = r.str(21);
      const content = Buffer.from(r.bytes(r.u8()));
      const reserve = r.str(8);
      pdu = { command, seq, msgId, isReport, msgFormat, recvTime, srcTermId, destTermId, content, reserve, tlvs: readTlvs(r) };
      break;
    }
    default:
      pdu = { command, seq } as SmgpPdu;
      r.at = frame.length - HEADER_LENGTH; // Active_Test / Exit and their responses have no body
  }
  if (r.left !== 0) throw new CmppDecodeError(`SMGP ${command}: ${r.left} bytes left over after the body`);
  return pdu;
}

/** AuthenticatorClient = MD5(ClientID + 7 bytes of 0 + shared secret + MMDDHHMMSS). */
export function authenticatorClient(clientId: string, secret: string, timestamp: number): Buffer {
  return createHash('md5')
    .update(Buffer.from(clientId, 'latin1'))
    .update(Buffer.alloc(7))
    .update(Buffer.from(secret, 'latin1'))
    .update(String(timestamp).padStart(10, '0'))
    .digest();
}

/** AuthenticatorServer = MD5(Status (4 bytes) + AuthenticatorClient + shared secret). */
export function authenticatorServer(status: number, client: Buffer, secret: string): Buffer {
  const st = Buffer.alloc(4);
  st.writeUInt32BE(status >>> 0);
  return createHash('md5').update(st).update(client).update(Buffer.from(secret, 'latin1')).digest();
}

/**
 * A status report's MsgContent: `id:` + the 10 MsgID bytes as they are, then the SMPP-style
 * fields ` sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:` and
 * 20 bytes of text.
 */
export function encodeSmgpReport(r: {
  msgId: string;
  stat: string;
  err: string;
  submitDate: string;
  doneDate: string;
  text?: string;
}): Buffer {
  const tail = ` sub:001 dlvrd:${r.stat === 'DELIVRD' ? '001' : '000'} submit date:${r.submitDate} done date:${r.doneDate} stat:${r.stat} err:${r.err} text:`;
  const text = Buffer.alloc(20);
  Buffer.from(r.text ?? '', 'latin1').copy(text);
  return Buffer.concat([Buffer.from('id:', 'latin1'), msgIdBytes(r.msgId), Buffer.from(tail, 'latin1'), text]);
}

/** Reads a status report's MsgID (20 hex digits), stat and err; undefined when it is not one. */
export function decodeSmgpReport(content: Buffer): { msgId: string; stat: string; err?: string } | undefined {
  const at = content.indexOf('id:');
  if (at < 0 || content.length < at + 13) return undefined;
  const msgId = content.subarray(at + 3, at + 13).toString('hex');
  const rest = content.subarray(at + 13).toString('latin1');
  const stat = /stat:([^\s\0]{1,7})/i.exec(rest)?.[1];
  if (!stat) return undefined;
  return { msgId, stat: stat.toUpperCase(), err: /err:([^\s\0]{1,3})/i.exec(rest)?.[1] };
}

/** A 10-byte gateway MsgID in BCD: gateway code (6 digits), time MMDDHHMM (8, Beijing time), sequence (6). */
export function makeSmgpMsgId(gateway: number, at: Date, sequence: number): string {
  const d = new Date(at.getTime() + 8 * 3600_000);
  const time = [d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()].map((n) => String(n).padStart(2, '0')).join('');
  return String(gateway % 1_000_000).padStart(6, '0') + time + String(sequence % 1_000_000).padStart(6, '0');
}
