import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { readUploadedTable } from './upload-table.ts';
import { declaredExpansion, measureExpansion, zipEntries } from './xlsx-expansion.ts';
import { deflatedSpaces, zip } from './zip-bomb.fixture.ts';

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
    expect(() => declaredExpansion(bomb)).toThrow(/解压后有 300 MB，达到或超过上限 200 MB/);
  });

  it('refuses a file whose header lies: it inflates to more than it declared', async () => {
    const liar = zip([{ name: 'xl/sharedStrings.xml', data: deflatedSpaces(8), size: 1000 }]);
    expect(declaredExpansion(liar)).toBe(1000);
    await expect(measureExpansion(liar)).rejects.toThrow(/sharedStrings\.xml”解压后比声明的大/);
  });

  it('stops counting at the limit (entries that together expand too far)', async () => {
    const many = zip(
      Array.from({ length: 3 }, (_, i) => ({ name: `xl/worksheets/sheet${i + 1}.xml`, data: deflatedSpaces(4), size: 4 << 20 })),
    );
    await expect(measureExpansion(many, 10 << 20)).rejects.toThrow(/解压后超过上限 10 MB/);
  });

  it('the upload reader refuses a bomb as UPLOAD_TOO_LARGE, naming it', async () => {
    const liar = zip([{ name: 'xl/worksheets/sheet1.xml', data: deflatedSpaces(4), size: 1000 }]);
    await expect(readUploadedTable(liar)).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE', message: expect.stringContaining('压缩炸弹') });
    const big = zip([{ name: 'xl/worksheets/sheet1.xml', data: deflatedSpaces(4), size: 4 << 20 }]);
    await expect(readUploadedTable(big, { maxExpandedBytes: 1 << 20 })).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
  });
});
