import { z } from './openapi.ts';

/** Shared request fragments with messages a person understands. */
export const Name64 = (label: string) =>
  z
    .string({ error: `请输入${label}` })
    .trim()
    .min(1, `请输入${label}`)
    .max(64, `${label}最多 64 个字`);
export const Text = (label: string, max: number) =>
  z
    .string({ error: `${label}格式不正确` })
    .trim()
    .max(max, `${label}最多 ${max} 个字`);
export const MobileOrEmpty = z
  .string()
  .transform((s) => s.replace(/[\s-]/g, ''))
  .refine((s) => s === '' || /^(\+86|0086)?1[3-9]\d{9}$/.test(s), '手机号码格式不正确（应为 11 位大陆手机号）');
export const EmailOrEmpty = z
  .string()
  .trim()
  .max(120)
  .refine((s) => s === '' || /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s), '邮箱格式不正确');

export const pagedOf = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item).openapi({ description: '本页的记录' }),
    total: z.number().openapi({ description: '符合条件的总数', example: 42 }),
    page: z.number().openapi({ description: '页码，从 1 开始', example: 1 }),
    pageSize: z.number().openapi({ description: '每页条数', example: 20 }),
  });
