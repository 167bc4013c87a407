import { z } from '../../../http/openapi.ts';

export const BOOK_TAG = ['行业短信-通讯录'];
export type Book = 'personal' | 'enterprise';
export const BookParam = z.object({ book: z.enum(['personal', 'enterprise']) });
export const BookIdParam = BookParam.extend({ id: z.string().min(1).max(64) });
export const Ids = z
  .array(z.string().min(1).max(64))
  .min(1, '请先选择联系人')
  .max(100_000)
  .openapi({ description: '所选联系人的编号，1–100,000 个', example: ['c1a2b3c4-0000-4000-8000-000000000001'] });
export const GroupIds = z
  .array(z.string().min(1).max(64))
  .max(1000)
  .openapi({ description: '分组编号，最多 1,000 个', example: ['g1a2b3c4-0000-4000-8000-000000000001'] });

export const ContactFields = z.object({
  name: z
    .string({ error: '请输入姓名' })
    .trim()
    .min(1, '请输入姓名')
    .max(50, '姓名最多 50 字')
    .openapi({ description: '姓名，1–50 个字', example: '张伟' }),
  phone: z
    .string({ error: '请输入手机号码' })
    .trim()
    .min(1, '请输入手机号码')
    .max(32, '手机号码有误')
    .openapi({ description: '手机号码（11 位大陆号码）', example: '13800000001' }),
  gender: z.enum(['', 'male', 'female']).default('').openapi({ description: '性别：male 男，female 女，空串未填', example: 'male' }),
  birthday: z.string().max(20).default('').openapi({ description: '生日（YYYY-MM-DD），可为空', example: '1988-05-20' }),
  email: z.string().max(100).default('').openapi({ description: '邮箱，可为空', example: 'zhangwei@example.com' }),
  company: z.string().max(100).default('').openapi({ description: '单位，最多 100 个字', example: '杭州市应急管理局' }),
  title: z.string().max(50).default('').openapi({ description: '职务，最多 50 个字', example: '值班员' }),
  address: z.string().max(200).default('').openapi({ description: '地址，最多 200 个字', example: '杭州市上城区解放路 1 号' }),
  remark: z.string().max(500).default('').openapi({ description: '备注，最多 500 个字', example: '夜班' }),
  sort: z
    .number()
    .int()
    .min(-1_000_000)
    .max(1_000_000)
    .default(0)
    .openapi({ description: '排序值（整数，小的在前），默认 0', example: 10 }),
  groupIds: GroupIds.default([]).openapi({
    description: '所在分组的编号，可为空（未分组）',
    example: ['g1a2b3c4-0000-4000-8000-000000000001'],
  }),
});
export const Contact = ContactFields.omit({ groupIds: true })
  .extend({
    id: z.string().openapi({ description: '联系人编号', example: 'c1a2b3c4-0000-4000-8000-000000000001' }),
    groupIds: z.array(z.string()).openapi({ description: '所在分组的编号', example: ['g1a2b3c4-0000-4000-8000-000000000001'] }),
    groupNames: z.array(z.string()).openapi({ description: '所在分组的名称，与 groupIds 一一对应', example: ['值班组'] }),
    updatedAt: z.string().openapi({ description: '最后修改时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('Contact');
export const GroupNode = z
  .object({
    id: z.string().openapi({ description: '分组（企业通讯录：部门）编号', example: 'g1a2b3c4-0000-4000-8000-000000000001' }),
    parentId: z.string().nullable().openapi({ description: '上级分组编号，顶级分组为 null', example: null }),
    name: z.string().openapi({ description: '分组名称', example: '值班组' }),
    count: z.number().openapi({ description: '直接在此分组（企业通讯录：部门）中的联系人数，不含下级分组', example: 12 }),
    sort: z.number().openapi({ description: '排序值（小的在前）', example: 0 }),
  })
  .openapi('ContactGroup');

export const ListQuery = z.object({
  groupId: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: '只列此分组（企业通讯录：部门）的联系人；unassigned 为未分组的', example: 'unassigned' }),
  keyword: z.string().max(50).optional().openapi({ description: '按姓名或号码查找', example: '张' }),
  page: z.coerce.number().int().min(1).default(1).openapi({ description: '页码，从 1 开始', example: 1 }),
  pageSize: z.coerce.number().int().min(1).max(500).default(20).openapi({ description: '每页条数，1–500，默认 20', example: 20 }),
});
