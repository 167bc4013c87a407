import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { MAX_CELL_CHARS, MAX_COLUMNS, readUploadedTable } from './upload-table.ts';
import { declaredExpansion, measureExpansion } from './xlsx-expansion.ts';
import { deflatedSpaces, zip } from './zip-bomb.fixture.ts';

const xlsx = async (fill: (ws: ExcelJS.Worksheet) => void) => {
  const wb = new ExcelJS.Workbook();
  fill(wb.addWorksheet('号码'));
  return new Uint8Array(await wb.xlsx.writeBuffer());
};

/** Issue 17: a 22 KB .xlsx with one 20 MB cell was accepted and grew the portal's memory by 700 MB. */
describe('cell and table limits of uploads', () => {
  it('refuses an .xlsx with one 20 MB cell while inflating it, before the Excel reader holds the string', async () => {
    const bytes = await xlsx((ws) => ws.addRow(['13800138000', 'x'.repeat(20 * 1024 * 1024)]));
    expect(bytes.length).toBeLessThan(100 * 1024);
    await expect(readUploadedTable(bytes)).rejects.toMatchObject({
      code: 'UPLOAD_CELL_TOO_LONG',
      message: expect.stringMatching(/单元格/),
    });
  });

  it(`refuses a cell over ${MAX_CELL_CHARS} characters, in Excel and in text, and accepts one at the limit`, async () => {
    const at = await xlsx((ws) => ws.addRow(['13800138000', '好'.repeat(MAX_CELL_CHARS)]));
    expect((await readUploadedTable(at)).rows[0]!.cells[1]).toHaveLength(MAX_CELL_CHARS);
    const over = await xlsx((ws) => ws.addRow(['13800138000', '好'.repeat(MAX_CELL_CHARS + 1)]));
    await expect(readUploadedTable(over)).rejects.toMatchObject({
      code: 'UPLOAD_CELL_TOO_LONG',
      message: expect.stringContaining('第 1 行'),
    });
    const txt = new TextEncoder().encode(`13800138000,${'好'.repeat(MAX_CELL_CHARS + 1)}\n`);
    await expect(readUploadedTable(txt)).rejects.toMatchObject({ code: 'UPLOAD_CELL_TOO_LONG' });
  });

  it(`refuses a row with more than ${MAX_COLUMNS} columns`, async () => {
    const wide = await xlsx((ws) => {
      ws.getCell(1, 1).value = '13800138000';
      ws.getCell(1, 16_000).value = 'x';
    });
    await expect(readUploadedTable(wide)).rejects.toMatchObject({ code: 'UPLOAD_TOO_MANY_COLUMNS' });
    const txt = new TextEncoder().encode(`13800138000${',x'.repeat(MAX_COLUMNS)}\n`);
    await expect(readUploadedTable(txt)).rejects.toMatchObject({ code: 'UPLOAD_TOO_MANY_COLUMNS' });
  });

  it('refuses a file that expands to exactly the limit, not only above it', async () => {
    const exactly = zip([{ name: 'xl/worksheets/sheet1.xml', data: deflatedSpaces(2), size: 2 << 20 }]);
    expect(() => declaredExpansion(exactly, 2 << 20)).toThrow(/超过上限|达到上限/);
    await expect(measureExpansion(exactly, 2 << 20)).rejects.toThrow(/上限/);
    expect(declaredExpansion(exactly, (2 << 20) + 1)).toBe(2 << 20);
  });
});
