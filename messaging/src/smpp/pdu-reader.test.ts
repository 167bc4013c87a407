import { describe, expect, it } from 'vitest';
import smpp from 'smpp';
import { CLIENT_REF_TLV, formatReceiptText, MESSAGE_STATE } from './protocol.ts';
import { decodeReceipt, decodeSubmitSmResp } from './pdu-reader.ts';
import { readDeliver } from './smpp-connector.ts';

const nodeDecode = (b: Buffer): any => new (smpp.PDU as any)(b);
const bytes = (command: string, fields: Record<string, unknown>) => new smpp.PDU(command, fields).toBuffer();
const receiptText = formatReceiptText({
  id: 'cmcc-17',
  stat: 'UNDELIV',
  err: '001',
  submitted: new Date(Date.UTC(2026, 11, 7, 3, 0)),
  done: new Date(Date.UTC(2026, 11, 7, 3, 1)),
  text: '台风红色预警 storm',
});

describe('the reader’s own decoding (SMPP 3.4 §4.4.2, §4.6.1)', () => {
  it('reads submit_sm_resp as node-smpp does, accepted with its message id or refused without a body', () => {
    for (const b of [
      bytes('submit_sm_resp', { sequence_number: 77, message_id: 'cmcc-1765-000042' }),
      bytes('submit_sm_resp', { sequence_number: 78, command_status: 0x58 }),
    ]) {
      const ours = decodeSubmitSmResp(b)!;
      const theirs = nodeDecode(b);
      expect(ours).toMatchObject({
        command: 'submit_sm_resp',
        command_status: theirs.command_status,
        sequence_number: theirs.sequence_number,
      });
      expect(ours.message_id).toBe(theirs.message_id);
      expect(ours.isResponse()).toBe(true);
    }
  });

  it('reads a receipt to the same fields and the same receipt as node-smpp: text only, with TLVs, UCS-2, message_payload', () => {
    const base = { sequence_number: 9, source_addr: '13800000000', destination_addr: '1065710001', esm_class: 0x04 };
    const cases = [
      bytes('deliver_sm', { ...base, short_message: Buffer.from(receiptText.replace(/[^\x20-\x7e]/g, '?')) }),
      bytes('deliver_sm', {
        ...base,
        short_message: Buffer.from('id:cmcc-18 stat:DELIVRD err:000'),
        receipted_message_id: 'cmcc-18',
        message_state: MESSAGE_STATE.DELIVERED,
        client_ref: 'job-1',
      }),
      bytes('deliver_sm', { ...base, data_coding: 8, short_message: Buffer.from(receiptText, 'utf16le').swap16() }),
      bytes('deliver_sm', { ...base, short_message: Buffer.alloc(0), message_payload: Buffer.from('id:cmcc-19 stat:EXPIRED err:002') }),
    ];
    for (const b of cases) {
      const ours = decodeReceipt(b)!;
      const theirs = nodeDecode(b);
      expect(ours).toBeDefined();
      for (const k of [
        'sequence_number',
        'source_addr',
        'destination_addr',
        'esm_class',
        'data_coding',
        'receipted_message_id',
        'message_state',
        'client_ref',
      ])
        expect(ours[k], k).toEqual(theirs[k]);
      expect(readDeliver(ours)).toEqual(readDeliver(theirs));
      expect(readDeliver(ours).receipt).toBeDefined();
    }
    expect(CLIENT_REF_TLV).toBe(0x1501);
  });

  it('leaves replies, receipts with a UDH and broken PDUs to node-smpp', () => {
    const mo = bytes('deliver_sm', { source_addr: '13800000000', destination_addr: '1065710001', short_message: Buffer.from('hello') });
    expect(decodeReceipt(mo)).toBeUndefined();
    const udh = bytes('deliver_sm', { source_addr: '1', esm_class: 0x44, short_message: Buffer.from('050003010201', 'hex') });
    expect(decodeReceipt(udh)).toBeUndefined();
    const whole = bytes('deliver_sm', { source_addr: '13800000000', esm_class: 0x04, short_message: Buffer.from('id:1 stat:DELIVRD') });
    const cut = Buffer.from(whole.subarray(0, whole.length - 5));
    cut.writeUInt32BE(cut.length, 0);
    expect(decodeReceipt(cut)).toBeUndefined();
    const noNull = Buffer.from(whole.subarray(0, 20));
    noNull.writeUInt32BE(20, 0);
    noNull.fill(0x41, 16);
    expect(decodeReceipt(noNull)).toBeUndefined();
    expect(decodeSubmitSmResp(Buffer.concat([whole.subarray(0, 16), Buffer.from('abc')]))).toBeUndefined();
  });
});
