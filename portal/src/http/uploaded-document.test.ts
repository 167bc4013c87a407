import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { onePagePdf, tinyPng } from './document-fixtures.ts';
import { inspectDocument } from './uploaded-document.ts';

describe('uploaded documents open with at least one page', () => {
  it('accepts a real PNG and a one-page PDF', () => {
    expect(inspectDocument(tinyPng())).toEqual({ ok: true, type: 'image/png', pages: 1 });
    expect(inspectDocument(onePagePdf())).toEqual({ ok: true, type: 'application/pdf', pages: 1 });
  });

  it('finds the page of a PDF whose objects are in a compressed object stream', () => {
    const objStm = deflateSync(Buffer.from('3 0 << /Type /Page /Parent 2 0 R >>'));
    const head = '%PDF-1.5\n5 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length ' + objStm.length + ' >>\nstream\n';
    const body = Buffer.concat([Buffer.from(head, 'latin1'), objStm, Buffer.from('\nendstream\nendobj\n', 'latin1')]);
    const xref = body.length;
    const pdf = Buffer.concat([body, Buffer.from(`6 0 obj\n<< /Type /XRef >>\nendobj\nstartxref\n${xref}\n%%EOF\n`, 'latin1')]);
    expect(inspectDocument(new Uint8Array(pdf))).toMatchObject({ ok: true, pages: 1 });
  });

  it.each([
    ['a 150-byte file that starts like a PDF', new TextEncoder().encode('%PDF-1.4\n' + 'x'.repeat(141))],
    [
      'a PDF with no page',
      new TextEncoder().encode(new TextDecoder().decode(onePagePdf()).replace('/Type /Page /Parent', '/Type /Pagex /Parent')),
    ],
    ['a PDF cut short', onePagePdf().subarray(0, 300)],
    ['a PNG signature and a bare IHDR', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82])],
    [
      'a PNG with a broken checksum',
      (() => {
        const p = tinyPng();
        p[20] ^= 0xff;
        return p;
      })(),
    ],
    ['a JPEG start and nothing else', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46])],
    ['plain text', new TextEncoder().encode('hello')],
  ])('refuses %s', (_, bytes) => {
    const r = inspectDocument(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(/[\u4e00-\u9fff]/);
  });
});
