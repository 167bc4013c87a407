import { describe, expect, it } from 'vitest';
import smpp from 'smpp';
import './protocol.ts'; // registers client_ref with node-smpp
import { encodeDeliverSmResp, encodeSubmitSm, type SubmitSm } from './submit-codec.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** node-smpp's bytes for the same submit_sm, as the connector wrote it before. */
function nodeSmpp(p: SubmitSm): Buffer {
  return new smpp.PDU('submit_sm', {
    sequence_number: p.sequence,
    source_addr_ton: 0,
    source_addr_npi: 0,
    source_addr: p.source,
    dest_addr_ton: 2,
    dest_addr_npi: 1,
    destination_addr: p.destination,
    esm_class: p.esmClass,
    registered_delivery: 1,
    data_coding: p.dataCoding,
    short_message: p.shortMessage,
    ...(p.clientRef !== undefined ? { client_ref: p.clientRef } : {}),
  }).toBuffer();
}

const decode = (b: Buffer): any => new (smpp.PDU as any)(b);

describe('submit_sm written by hand', () => {
  it('lays the fields out as SMPP 3.4 §4.4.1 lists them', () => {
    const b = encodeSubmitSm({
      sequence: 7,
      source: '106571',
      destination: '13800138000',
      esmClass: 0,
      dataCoding: 0,
      shortMessage: Buffer.from('Hi'),
    });
    // Written out field by field from the specification's table.
    const expected = hex(`
      00000034 00000004 00000000 00000007
      00
      00 00 313036353731 00
      02 01 3133383030313338303030 00
      00 00 00
      00
      00
      01 00 00 00
      02 4869`);
    expect(b.toString('hex')).toBe(expected.toString('hex'));
    expect(b.length).toBe(16 + 1 + 2 + 7 + 2 + 12 + 3 + 1 + 1 + 5 + 2);
  });

  it('writes the same bytes as node-smpp: GSM-7, UCS-2 with a UDH, the vendor TLV, the longest addresses and part', () => {
    const ucs2 = Buffer.concat([
      hex('050003a70201'),
      Buffer.from(
        '台风红色预警'
          .split('')
          .map((c) => c.charCodeAt(0))
          .flatMap((n) => [n >> 8, n & 0xff]),
      ),
    ]);
    const cases: SubmitSm[] = [
      { sequence: 1, source: '106571', destination: '13800000000', esmClass: 0, dataCoding: 0, shortMessage: Buffer.from('Storm warning') },
      { sequence: 0x7fffffff, source: '1065710001', destination: '8613900000001', esmClass: 0x40, dataCoding: 8, shortMessage: ucs2 },
      { sequence: 42, source: '106591', destination: '18900000003', esmClass: 0, dataCoding: 8, shortMessage: Buffer.alloc(0) },
      {
        sequence: 99,
        source: '10657100000000000000',
        destination: '13800000000000000000',
        esmClass: 0x40,
        dataCoding: 8,
        shortMessage: Buffer.alloc(254, 0x4e),
        clientRef: 'job-123:abc',
      },
    ];
    for (const c of cases) {
      const ours = encodeSubmitSm(c);
      expect(ours.toString('hex')).toBe(nodeSmpp(c).toString('hex'));
      const pdu = decode(ours);
      expect(pdu).toMatchObject({
        command: 'submit_sm',
        sequence_number: c.sequence,
        source_addr: c.source,
        destination_addr: c.destination,
        dest_addr_ton: 2,
        dest_addr_npi: 1,
        registered_delivery: 1,
        data_coding: c.dataCoding,
      });
      if (c.clientRef) expect(pdu.client_ref).toBe(c.clientRef);
    }
  });

  it('refuses what SMPP cannot carry rather than writing a broken PDU', () => {
    const ok: SubmitSm = {
      sequence: 1,
      source: '106571',
      destination: '13800000000',
      esmClass: 0,
      dataCoding: 0,
      shortMessage: Buffer.from('x'),
    };
    expect(() => encodeSubmitSm({ ...ok, source: '1'.repeat(21) })).toThrow(RangeError);
    expect(() => encodeSubmitSm({ ...ok, destination: '１３８' })).toThrow(RangeError);
    expect(() => encodeSubmitSm({ ...ok, shortMessage: Buffer.alloc(255) })).toThrow(RangeError);
  });
});

describe('deliver_sm_resp written by hand', () => {
  it('is node-smpp’s response, accepted (message_id "") or refused (header only)', () => {
    const deliver = decode(
      new smpp.PDU('deliver_sm', { sequence_number: 513, source_addr: '13800000000', short_message: Buffer.from('x') }).toBuffer(),
    );
    expect(encodeDeliverSmResp(513, 0).toString('hex')).toBe(deliver.response().toBuffer().toString('hex'));
    expect(encodeDeliverSmResp(513, 0x64).toString('hex')).toBe(deliver.response({ command_status: 0x64 }).toBuffer().toString('hex'));
    expect(encodeDeliverSmResp(513, 0).toString('hex')).toBe('00000011' + '80000005' + '00000000' + '00000201' + '00');
  });
});
