import type { Queryable } from '@geo/infra';
import { routeNumber, type SmsCarrier } from '@geo/messaging';
import { AppError } from '../../../errors.ts';
import type { RejectedLine } from '../../../industry/batch-numbers.ts';
import { normalizeMobile, splitRecipients } from '../../../industry/recipients.ts';
import { departmentSubtree } from '../scope.ts';

/** One recipient of a send, with its own text for mail-merge sends. */
export interface Recipient {
  msisdn: string;
  carrier: SmsCarrier;
  name: string;
  content?: string;
}

/** An entry left out of a send and why, shown to the sender before anything is sent. */
export interface Rejected {
  /** Where it came from: 输入 (typed), 通讯录, or the upload's line. */
  source: string;
  input: string;
  reason: 'invalid' | 'duplicate' | 'unroutable' | 'empty_content';
  message: string;
}

export interface PickedFrom {
  /** Typed or pasted numbers, any separator. */
  recipients?: string;
  /** Numbers given one by one (API clients). */
  numbers?: string[];
  /** Personal or enterprise contacts by id. */
  contactIds?: string[];
  /** Personal groups (with their subgroups); 'unassigned' is 未分配组. */
  groupIds?: string[];
  /** Enterprise-book departments (with their sub-departments). */
  departmentIds?: string[];
}

export const UNASSIGNED = 'unassigned';

/** Contacts picked from the address books: the caller's personal book and its enterprise's book. */
async function pickedContacts(
  db: Queryable,
  enterpriseId: string,
  accountId: string,
  from: PickedFrom,
): Promise<{ name: string; phone: string }[]> {
  const out: { name: string; phone: string }[] = [];
  const visible = `c.enterprise_id = $1 AND ((c.book = 'personal' AND c.account_id = $2) OR c.book = 'enterprise')`;
  if (from.contactIds?.length) {
    const { rows } = await db.query<{ name: string; phone: string }>(
      `SELECT c.name, c.phone FROM contacts c WHERE ${visible} AND c.id = ANY($3::text[]) ORDER BY c.sort, c.name`,
      [enterpriseId, accountId, from.contactIds],
    );
    if (rows.length !== new Set(from.contactIds).size) throw new AppError('NOT_FOUND', '所选联系人不存在或已删除');
    out.push(...rows);
  }
  const groups = (from.groupIds ?? []).filter((g) => g !== UNASSIGNED);
  if (groups.length) {
    const { rows } = await db.query<{ name: string; phone: string }>(
      `WITH RECURSIVE t AS (
         SELECT id FROM contact_groups WHERE account_id = $2 AND id = ANY($3::text[])
         UNION SELECT g.id FROM contact_groups g JOIN t ON g.parent_id = t.id)
       SELECT c.name, c.phone FROM contacts c JOIN contact_group_members m ON m.contact_id = c.id
        WHERE c.enterprise_id = $1 AND c.account_id = $2 AND m.group_id IN (SELECT id FROM t) ORDER BY c.sort, c.name`,
      [enterpriseId, accountId, groups],
    );
    out.push(...rows);
  }
  if (from.groupIds?.includes(UNASSIGNED)) {
    const { rows } = await db.query<{ name: string; phone: string }>(
      `SELECT c.name, c.phone FROM contacts c WHERE c.enterprise_id = $1 AND c.book = 'personal' AND c.account_id = $2
          AND NOT EXISTS (SELECT 1 FROM contact_group_members m WHERE m.contact_id = c.id) ORDER BY c.sort, c.name`,
      [enterpriseId, accountId],
    );
    out.push(...rows);
  }
  for (const d of from.departmentIds ?? []) {
    const depts = d === UNASSIGNED ? [] : await departmentSubtree(db, enterpriseId, d);
    const { rows } = await db.query<{ name: string; phone: string }>(
      d === UNASSIGNED
        ? `SELECT c.name, c.phone FROM contacts c WHERE c.enterprise_id = $1 AND c.book = 'enterprise'
              AND NOT EXISTS (SELECT 1 FROM contact_department_members m WHERE m.contact_id = c.id) ORDER BY c.sort, c.name`
        : `SELECT DISTINCT c.name, c.phone, c.sort FROM contacts c JOIN contact_department_members m ON m.contact_id = c.id
            WHERE c.enterprise_id = $1 AND c.book = 'enterprise' AND m.department_id = ANY($2::text[]) ORDER BY c.sort, c.name`,
      d === UNASSIGNED ? [enterpriseId] : [enterpriseId, depts],
    );
    out.push(...rows);
  }
  return out;
}

/**
 * Everyone a normal send goes to: typed numbers first, then picked contacts; each number routed to
 * its carrier. Invalid, duplicate and unroutable entries are returned, never silently dropped.
 */
export async function resolveRecipients(
  db: Queryable,
  enterpriseId: string,
  accountId: string,
  from: PickedFrom,
): Promise<{ recipients: Recipient[]; rejected: Rejected[] }> {
  const entries: { source: string; input: string; name: string }[] = [];
  if (from.recipients) for (const t of splitRecipients(from.recipients)) entries.push({ source: '输入', input: t, name: '' });
  for (const n of from.numbers ?? []) entries.push({ source: '输入', input: n, name: '' });
  for (const c of await pickedContacts(db, enterpriseId, accountId, from)) entries.push({ source: '通讯录', input: c.phone, name: c.name });
  const seen = new Set<string>();
  const recipients: Recipient[] = [];
  const rejected: Rejected[] = [];
  for (const e of entries) {
    const n = normalizeMobile(e.input);
    const label = e.name ? `${e.name}（${e.input}）` : e.input;
    if (!n) rejected.push({ source: e.source, input: e.input, reason: 'invalid', message: `“${label}”不是有效的中国大陆手机号码` });
    else if (seen.has(n))
      rejected.push({
        source: e.source,
        input: e.input,
        reason: 'duplicate',
        message: `号码 ${n}${e.name ? `（${e.name}）` : ''} 重复，只发送一次`,
      });
    else {
      seen.add(n);
      const r = routeNumber(n);
      if (!r.ok) rejected.push({ source: e.source, input: e.input, reason: 'unroutable', message: r.reason });
      else recipients.push({ msisdn: r.msisdn, carrier: r.carrier, name: e.name });
    }
  }
  return { recipients, rejected };
}

/** Rows of an upload's report as send rejections. */
export const uploadRejections = (lines: readonly RejectedLine[]): Rejected[] =>
  lines.map((l) => ({ source: `第 ${l.line} 行`, input: l.text, reason: l.reason, message: l.message }));

/** Routes already-validated numbers (from an upload), moving unroutable ones to the rejections. */
export function routeAll(items: readonly { msisdn: string; content?: string; line?: number }[], rejected: Rejected[]): Recipient[] {
  const out: Recipient[] = [];
  for (const it of items) {
    const r = routeNumber(it.msisdn);
    if (r.ok) out.push({ msisdn: r.msisdn, carrier: r.carrier, name: '', ...(it.content !== undefined ? { content: it.content } : {}) });
    else rejected.push({ source: it.line ? `第 ${it.line} 行` : '输入', input: it.msisdn, reason: 'unroutable', message: r.reason });
  }
  return out;
}
