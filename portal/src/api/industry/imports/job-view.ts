import { z } from '../../../http/openapi.ts';
import { UploadResult } from '../schemas.ts';
import type { ImportJob } from './jobs.ts';

/** What the poll (GET /api/industry/imports/{id}) and an address-book import's start answer: {@link jobView}. */
export const ImportView = z
  .object({
    jobId: z.string().openapi({ description: '导入任务编号，用于查询进度（GET /api/industry/imports/{id}）', example: 'imp-6f1c2e3a' }),
    kind: z.enum(['contacts', 'batch', 'merge']).describe('contacts：通讯录导入；batch / merge：批量发送 / 定制发送的文件检查'),
    fileName: z.string().openapi({ description: '上传的文件名', example: '通讯录.xlsx' }),
    phase: z
      .enum(['reading', 'importing', 'done', 'failed'])
      .openapi({ description: '阶段：reading 读取文件，importing 检查并写入，done 完成，failed 失败（见 error）', example: 'importing' }),
    rows: z.number().openapi({ description: '文件中的数据行数（读完文件后才知道，之前为 0）', example: 5000 }),
    processed: z.number().openapi({ description: '已处理的行数', example: 2500 }),
    percent: z.number().openapi({ description: '进度百分比，0–100（完成前最多 99）', example: 50 }),
    imported: z.number().openapi({ description: '已导入的联系人数', example: 2480 }),
    rejectedTotal: z.number().openapi({ description: '被拒绝的行数', example: 20 }),
    rejected: z
      .array(
        z.object({
          line: z.number().openapi({ description: '文件中的行号（从 1 开始，含表头）', example: 18 }),
          text: z.string().openapi({ description: '该行的原文', example: '李娜,1380000' }),
          reason: z.string().openapi({
            description:
              '原因代码：no_name 缺少姓名，invalid 号码有误，duplicate 文件中重复，exists 已在通讯录中（批量发送另有 empty_content 等）',
            example: 'invalid',
          }),
          message: z.string().openapi({ description: '原因说明', example: '第 18 行：“1380000”不是有效的手机号码' }),
        }),
      )
      .openapi({ description: '被拒绝的行（最多前 1,000 行），完成或失败后给出' }),
    error: z
      .object({
        code: z.string().openapi({ description: '错误代码', example: 'VALIDATION' }),
        message: z.string().openapi({ description: '错误说明', example: '文件不是 Excel 或 CSV 文件' }),
      })
      .nullable()
      .openapi({ description: '失败时的原因，否则为 null' }),
    upload: UploadResult.nullable().describe('批量发送 / 定制发送文件完成后的逐行报告与预览（与 POST /api/industry/uploads 的结果相同）'),
    elapsedMs: z.number().openapi({ description: '已用时间（毫秒）', example: 1800 }),
  })
  .openapi('ContactImport');

/**
 * What starting a batch / mail-merge upload job answers: the same view without `rejected`, whose
 * lines are in `upload.rejected` once the job is done.
 */
export const UploadJobView = ImportView.omit({ rejected: true }).openapi('IndustryUploadJob');

/** What the poll returns: progress as a fraction for the bar, and the report once done. */
export function jobView(j: ImportJob) {
  const percent =
    j.phase === 'done' ? 100 : j.phase === 'importing' && j.rows > 0 ? Math.min(99, Math.floor((j.processed / j.rows) * 100)) : 0;
  return {
    jobId: j.id,
    kind: j.kind,
    fileName: j.fileName,
    phase: j.phase,
    rows: j.rows,
    processed: j.processed,
    percent,
    imported: j.imported,
    rejectedTotal: j.rejectedTotal,
    rejected: j.phase === 'done' || j.phase === 'failed' ? j.rejected : [],
    error: j.error ?? null,
    upload: j.phase === 'done' ? (j.upload ?? null) : null,
    elapsedMs: (j.finishedAt ?? Date.now()) - j.startedAt,
  };
}
