import { z } from '../../../http/openapi.ts';

export const BOOK_TAG = ['行业短信-通讯录'];
export type Book = 'personal' | 'enterprise';
export const BookParam = z.object({ book: z.enum(['personal', 'enterprise']) });
export const BookIdParam = BookParam.extend({ id: z.string().min(1).max(64) });
export const Ids = z.array(z.string().min(1).max(64)).min(1, '请先选择联系人').max(100_000);
export const GroupIds = z.array(z.string().min(1).max(64)).max(1000);

export const ContactFields = z.object({
  name: z.string({ error: '请输入姓名' }).trim().min(1, '请输入姓名').max(50, '姓名最多 50 字'),
  phone: z.string({ error: '请输入手机号码' }).trim().min(1, '请输入手机号码').max(32, '手机号码有误'),
  gender: z.enum(['', 'male', 'female']).default(''),
  birthday: z.string().max(20).default(''),
  email: z.string().max(100).default(''),
  company: z.string().max(100).default(''),
  title: z.string().max(50).default(''),
  address: z.string().max(200).default(''),
  remark: z.string().max(500).default(''),
  sort: z.number().int().min(-1_000_000).max(1_000_000).default(0),
  groupIds: GroupIds.default([]),
});
export const Contact = ContactFields.omit({ groupIds: true })
  .extend({ id: z.string(), groupIds: z.array(z.string()), groupNames: z.array(z.string()), updatedAt: z.string() })
  .openapi('Contact');
export const GroupNode = z
  .object({ id: z.string(), parentId: z.string().nullable(), name: z.string(), count: z.number(), sort: z.number() })
  .openapi('ContactGroup');

export const ListQuery = z.object({
  groupId: z.string().max(64).optional(),
  keyword: z.string().max(50).optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(20),
});
