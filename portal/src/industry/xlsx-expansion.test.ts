import ExcelJS from 'exceljs';
import { constants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readUploadedTable } from './upload-table.ts';
import { declaredExpansion, measureExpansion, zipEntries } from './xlsx-expansion.ts';

/** A raw deflate stream of `mb` MiB of spaces, from ~1 KB: one full-flushed 1 MiB block repeated. */
function deflatedSpaces(mb: number): Uint8Array {
  const block = deflateRawSync(Buffer.alloc(1 << 20, 0x20), { finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array.from({ length: mb }, () => block), deflateRawSync(Buffer.alloc(0))]);
}

/** A zip of deflated entries whose headers declare `size` (the truth, or a lie). */
function zip(entries: { name: string; data: Uint8Array; size: number }[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt32LE(e.data.length, 20);
    cd.writeUInt32LE(e.size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, Buffer.from(e.data));
    central.push(cd, name);
    offset += 30 + name.length + e.data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

describe('zip bombs in .xlsx uploads', () => {
  it('reads the entries of a real workbook and measures it as declared', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('号码').addRow(['13800138000']);
    const bytes = new Uint8Array(await wb.xlsx.writeBuffer());
    const entries = zipEntries(bytes)!;
    expect(entries.map((e) => e.name)).toContain('xl/worksheets/sheet1.xml');
    const declared = declaredExpansion(bytes);
    expect(await measureExpansion(bytes)).toBe(declared);
  });

  it('refuses a file that declares more than the limit, without inflating it', () => {
    const bomb = zip([{ name: 'xl/worksheets/sheet1.xml', data: deflatedSpaces(1), size: 300 * 1024 * 1024 }]);
    expect(() => declaredExpansion(bomb)).toThrow(/解压后有 300 MB，超过上限 200 MB/);
  });

  it('refuses a file whose header lies: it inflates to more than it declared', async () => {
    const liar = zip([{ name: 'xl/sharedStrings.xml', data: deflatedSpaces(8), size: 1000 }]);
    expect(declaredExpansion(liar)).toBe(1000);
    await expect(measureExpansion(liar)).rejects.toThrow(/sharedStrings\.xml”解压后比声明的大/);
  });

  it('stops counting at the limit (entries that together expand too far)', async () => {
    const many = zip(Array.from({ length: 3 }, (_, i) => ({ name: `xl/worksheets/sheet${i + 1}.xml`, data: deflatedSpaces(4), size: 4 << 20 })));
    await expect(measureExpansion(many, 10 << 20)).rejects.toThrow(/解压后超过上限 10 MB/);
  });

  it('the upload reader refuses a bomb as UPLOAD_TOO_LARGE, naming it', async () => {
    const liar = zip([{ name: 'xl/worksheets/sheet1.xml', data: deflatedSpaces(4), size: 1000 }]);
    await expect(readUploadedTable(liar)).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE', message: expect.stringContaining('压缩炸弹') });
    const big = zip([{ name: 'xl/worksheets/sheet1.xml', data: deflatedSpaces(4), size: 4 << 20 }]);
    await expect(readUploadedTable(big, { maxExpandedBytes: 1 << 20 })).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
  });
});
