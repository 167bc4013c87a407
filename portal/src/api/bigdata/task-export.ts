import ExcelJS from 'exceljs';
import { safeCell } from '../../industry/export-cells.ts';
import { ALERT_TYPE_INFO, CARRIER_LABELS } from './alert-types.ts';
import { chinaTime } from './recipients.ts';
import { STATE_LABELS } from './route-kit.ts';
import { isExercise, type TaskRow } from './task-store.ts';

/** The task list as an Excel workbook (导出): one row a task, times in China time. */
export async function exportXlsx(rows: TaskRow[], sent: Map<string, number | null>): Promise<ArrayBuffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('大数据短信任务');
  ws.columns = [
    { header: '任务编号', key: 'id', width: 40 },
    { header: '发送主题', key: 'subject', width: 30 },
    { header: '预警类型', key: 'type', width: 10 },
    { header: '状态', key: 'state', width: 10 },
    { header: '开始日期', key: 'start', width: 12 },
    { header: '结束日期', key: 'end', width: 12 },
    { header: '发送内容', key: 'content', width: 60 },
    { header: '签名', key: 'signature', width: 12 },
    ...(['cmcc', 'cucc', 'ctcc'] as const).map((c) => ({ header: `${CARRIER_LABELS[c]}条数`, key: c, width: 12 })),
    { header: '已发送', key: 'sent', width: 10 },
    { header: '演练', key: 'exercise', width: 8 },
    { header: '创建人', key: 'who', width: 14 },
    { header: '提交时间（北京时间）', key: 'at', width: 22 },
  ];
  for (const r of rows) {
    const spec = (r.spec ?? r.form) as { content?: string; signature?: string; quota?: Record<string, { total?: number }> };
    // Every text cell goes through safeCell: a subject like "=HYPERLINK(…)" must stay text (CWE-1236).
    ws.addRow({
      id: safeCell(r.id),
      subject: safeCell(r.subject),
      type: safeCell(ALERT_TYPE_INFO[r.alertType as keyof typeof ALERT_TYPE_INFO]?.label ?? r.alertType),
      state: safeCell(STATE_LABELS[r.state] ?? r.state),
      start: safeCell(r.startDate),
      end: safeCell(r.endDate),
      content: safeCell(spec.content),
      signature: safeCell(spec.signature),
      cmcc: spec.quota?.cmcc?.total ?? 0,
      cucc: spec.quota?.cucc?.total ?? 0,
      ctcc: spec.quota?.ctcc?.total ?? 0,
      sent: sent.get(r.id) ?? 0,
      exercise: isExercise(r.form) ? '是' : '否',
      who: safeCell(r.accountName),
      // China time, as every other time the portal shows (not UTC ISO).
      at: safeCell(chinaTime(r.submittedAt ? Date.parse(r.submittedAt) : null)),
    });
  }
  return (await wb.xlsx.writeBuffer()) as ArrayBuffer;
}
