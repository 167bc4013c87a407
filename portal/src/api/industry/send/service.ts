import type { Db, Queryable } from '@geo/infra';
import { chargeFor, MAX_EXTENSIONS_PER_ENTERPRISE, type SmsCarrier } from '@geo/messaging';
import { AppError } from '../../../errors.ts';
import { defaultSubject } from '../../../industry/export-cells.ts';
import { mailMerge } from '../../../industry/mail-merge.ts';
import type { Principal } from '../../../http/context.ts';
import { balances as ledgerBalances, give, take } from '../../ledger/ledger.ts';
import { checkSendRate, recordHeldBack } from '../../ledger/send-limits.ts';
import { resolveRecipients, routeAll, uploadRejections, type PickedFrom, type Recipient, type Rejected } from './recipients.ts';
import { newId } from '../scope.ts';
import { readUploadList } from '../uploads/lists.ts';

/** A reply to a send is matched by its extension number for this long. */
export const EXTENSION_LIFE_DAYS = 7;
/** The contract carries at most this many characters of content per job. */
export const MAX_CONTENT = 2000;

export interface SendInput extends PickedFrom {
  mode: 'normal' | 'batch' | 'merge';
  subject?: string;
  content?: string;
  signatureId?: string;
  /** A parsed batch or mail-merge upload. */
  uploadId?: string;
  /** Mail-merge messages given directly (API clients). */
  messages?: { msisdn: string; content: string }[];
  needReply?: boolean;
  forwardReplies?: boolean;
  forwardTo?: string;
}

export interface SignatureRow {
  id: string;
  text: string;
  is_default: boolean;
}

/** Approved signatures of the enterprise, and the one preselected: the account's default, else the enterprise's. */
export async function signaturesFor(
  db: Queryable,
  enterpriseId: string,
  accountId: string,
): Promise<{ items: SignatureRow[]; defaultId: string | null }> {
  const { rows } = await db.query<SignatureRow>(
    `SELECT id, text, is_default FROM signatures WHERE enterprise_id = $1 AND status = 'approved' ORDER BY is_default DESC, created_at`,
    [enterpriseId],
  );
  const { rows: acct } = await db.query<{ default_signature_id: string | null }>(
    'SELECT default_signature_id FROM accounts WHERE id = $1',
    [accountId],
  );
  const own = acct[0]?.default_signature_id;
  const defaultId = (own && rows.find((r) => r.id === own)?.id) || rows.find((r) => r.is_default)?.id || rows[0]?.id || null;
  return { items: rows, defaultId };
}

/** 回复转发到手机 defaults to the enterprise admin's phone. */
export async function adminPhone(db: Queryable, enterpriseId: string): Promise<string> {
  const { rows } = await db.query<{ phone: string }>(
    `SELECT phone FROM accounts WHERE enterprise_id = $1 AND role = 'admin' ORDER BY created_at LIMIT 1`,
    [enterpriseId],
  );
  return rows[0]?.phone ?? '';
}

export interface Balances {
  /** null: the account has no own limit, only the enterprise's. */
  account: number | null;
  enterprise: number;
}

/** The ledger's balances of this account and its enterprise. */
export async function balances(db: Queryable, enterpriseId: string, accountId: string): Promise<Balances> {
  const b = await ledgerBalances(db, enterpriseId, accountId);
  return { account: b.account, enterprise: b.enterprise };
}

export interface Prepared {
  mode: SendInput['mode'];
  subject: string;
  content: string;
  signature: SignatureRow;
  recipients: Recipient[];
  rejected: Rejected[];
  /** Billing count of the whole send (segments, signature included). */
  billing: number;
  perCarrier: Partial<Record<SmsCarrier, number>>;
  /** Rows of a mail-merge preview. */
  preview?: { msisdn: string; content: string }[];
  duplicates: number;
}

/** Everything about a send that can be checked before it is recorded: recipients, text, signature, billing count. */
export async function prepareSend(db: Queryable, p: Principal, enterpriseId: string, input: SendInput): Promise<Prepared> {
  const sigs = await signaturesFor(db, enterpriseId, p.accountId);
  const sigId = input.signatureId ?? sigs.defaultId;
  const signature = sigs.items.find((s) => s.id === sigId);
  if (!signature) {
    if (!sigId) throw new AppError('SIGNATURE_NOT_APPROVED', '没有已审核通过的签名，请先在签名管理中申请签名');
    throw new AppError('SIGNATURE_NOT_APPROVED');
  }
  let recipients: Recipient[];
  let rejected: Rejected[];
  let duplicates = 0;
  let content = input.content ?? '';
  if (input.mode === 'normal') {
    ({ recipients, rejected } = await resolveRecipients(db, enterpriseId, p.accountId, input));
  } else {
    let items: { msisdn: string; content?: string; line?: number }[];
    if (input.uploadId) {
      const u = await readUploadList(db, input.uploadId, p.accountId);
      if (!u) throw new AppError('NOT_FOUND', '上传的文件已过期，请重新上传');
      if (u.kind !== input.mode)
        throw new AppError(
          'VALIDATION',
          input.mode === 'batch' ? '这是定制发送的文件，请在定制发送中使用' : '这是批量发送的文件，请在批量发送中使用',
        );
      items = u.items.map((it) => (typeof it === 'string' ? { msisdn: it } : { msisdn: it[0], content: it[1], line: it[2] }));
      rejected = uploadRejections(u.rejected);
      duplicates = u.duplicates;
    } else if (input.mode === 'merge' && input.messages) {
      const m = mailMerge(input.messages.map((x, i) => ({ line: i + 1, cells: [x.msisdn, x.content] })));
      items = m.messages.map((x) => ({ msisdn: x.msisdn, content: x.content, line: x.line }));
      rejected = uploadRejections(m.rejected);
      duplicates = m.duplicates;
    } else if (input.mode === 'batch' && (input.numbers || input.recipients)) {
      ({ recipients, rejected } = await resolveRecipients(db, enterpriseId, p.accountId, {
        recipients: input.recipients,
        numbers: input.numbers,
      }));
      items = [];
    } else {
      throw new AppError(
        'VALIDATION',
        input.mode === 'batch' ? '请先上传号码文件（TXT 或 Excel）' : '请先上传定制短信文件（TXT 或 Excel）',
      );
    }
    recipients ??= routeAll(items, rejected);
    if (input.mode === 'merge') content = recipients[0]?.content ?? '';
  }
  if (recipients.length === 0) throw new AppError('NO_RECIPIENTS', undefined, { rejected: rejected.slice(0, 1000) });
  if (input.mode !== 'merge' && !content.trim()) throw new AppError('TEXT_REFUSED', '请输入短信内容');
  const longest = input.mode === 'merge' ? Math.max(...recipients.map((r) => (r.content ?? '').length)) : content.length;
  if (longest > MAX_CONTENT) throw new AppError('TEXT_REFUSED', `短信内容最多 ${MAX_CONTENT} 字（当前 ${longest} 字）`);
  const charge =
    input.mode === 'merge'
      ? chargeFor({ signature: signature.text, contents: recipients.map((r) => r.content ?? '') })
      : chargeFor({ signature: signature.text, content, recipients: recipients.length });
  if (!charge.ok) throw new AppError('TEXT_REFUSED', charge.reason);
  const perCarrier: Prepared['perCarrier'] = {};
  for (const r of recipients) perCarrier[r.carrier] = (perCarrier[r.carrier] ?? 0) + 1;
  return {
    mode: input.mode,
    subject: defaultSubject(input.subject, content).slice(0, 100),
    content,
    signature,
    recipients,
    rejected,
    billing: charge.segments,
    perCarrier,
    duplicates,
    ...(input.mode === 'merge' ? { preview: recipients.slice(0, 10).map((r) => ({ msisdn: r.msisdn, content: r.content ?? '' })) } : {}),
  };
}

/** Gives back a cancelled scheduled send's billing count to the ledger (what it took, no more). */
export async function refund(tx: Queryable, enterpriseId: string, sendId: string, n: number): Promise<void> {
  await give(tx, enterpriseId, n, 'refund', { kind: 'industry', id: sendId });
}

/**
 * The lowest 4-digit extension not held by any live send. Messaging appends it to a carrier access
 * number shared by all enterprises, so it must be unique platform-wide (hence per enterprise); an
 * enterprise holds at most MAX_EXTENSIONS_PER_ENTERPRISE at once.
 */
async function allocateExtension(tx: Queryable, enterpriseId: string, sendId: string, until: Date): Promise<string> {
  // One allocation per enterprise at a time (a PostgreSQL server runs transactions side by side).
  await tx.query('SELECT pg_advisory_xact_lock(727300)');
  await tx.query('DELETE FROM sms_extensions WHERE expires_at < now()');
  // One tenant scheduling a year of reply-asking sends must not take the shared pool (#17): the
  // same bound as messaging's extension registry.
  const { rows: held } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM sms_extensions WHERE enterprise_id = $1', [
    enterpriseId,
  ]);
  if ((held[0]?.n ?? 0) >= MAX_EXTENSIONS_PER_ENTERPRISE)
    throw new AppError(
      'NO_EXTENSION',
      `本集团占用的回复扩展码已达上限 ${MAX_EXTENSIONS_PER_ENTERPRISE} 个（每个需要回复的短信占用一个，至发送后 ${EXTENSION_LIFE_DAYS} 天），请稍后再试或删除不需要的定时短信`,
      {
        held: held[0]?.n ?? 0,
        limit: MAX_EXTENSIONS_PER_ENTERPRISE,
      },
    );
  const { rows } = await tx.query<{ n: number }>(
    `SELECT n FROM generate_series(1, 9999) AS n
      WHERE NOT EXISTS (SELECT 1 FROM sms_extensions x WHERE x.extension = lpad(n::text, 4, '0'))
      ORDER BY n LIMIT 1`,
  );
  if (!rows[0]) throw new AppError('NO_EXTENSION');
  const ext = String(rows[0].n).padStart(4, '0');
  await tx.query('INSERT INTO sms_extensions (enterprise_id, extension, send_id, expires_at) VALUES ($1, $2, $3, $4)', [
    enterpriseId,
    ext,
    sendId,
    until,
  ]);
  return ext;
}

export interface RecordOptions {
  scheduledAt?: Date;
  via: 'web' | 'api';
  forwardTo: string | null;
  needReply: boolean;
  source: Record<string, unknown>;
  draftId?: string;
}

/**
 * Records a send in one transaction: charges the billing count to the ledger (refusing to
 * overdraw), refuses a send over the account's rate limits (429, the numbers held back counted after
 * the rollback), assigns an extension when a reply is wanted, writes the send and its recipients
 * (queued, or scheduled with its balance taken), and removes the draft it came from. Publishing
 * happens after commit.
 */
export async function recordSend(
  db: Db,
  p: Principal,
  enterpriseId: string,
  prep: Prepared,
  o: RecordOptions,
): Promise<{ id: string; extension: string | null }> {
  const id = newId();
  try {
    return await recordNow(db, p, enterpriseId, prep, o, id);
  } catch (err) {
    if (err instanceof AppError && err.code === 'RATE_LIMITED') await recordHeldBack(db, p.accountId, prep.recipients.length);
    throw err;
  }
}

async function recordNow(
  db: Db,
  p: Principal,
  enterpriseId: string,
  prep: Prepared,
  o: RecordOptions,
  id: string,
): Promise<{ id: string; extension: string | null }> {
  return db.transaction(async (tx) => {
    await take(tx, { enterpriseId, accountId: p.accountId }, prep.billing, 'charge', { kind: 'industry', id });
    // After take: the account row is locked, so this account's concurrent sends are counted in turn.
    await checkSendRate(tx, 'industry', p.accountId, prep.recipients.length);
    await tx.query(
      `INSERT INTO sms_sends (id, enterprise_id, account_id, mode, via, subject, content, signature_id, signature, recipients_count, billing_count,
                              extension, forward_to, state, scheduled_at, rejected, source)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        id,
        enterpriseId,
        p.accountId,
        prep.mode,
        o.via,
        prep.subject,
        prep.content,
        prep.signature.id,
        prep.signature.text,
        prep.recipients.length,
        prep.billing,
        null,
        o.forwardTo,
        o.scheduledAt ? 'scheduled' : 'queued',
        o.scheduledAt ?? null,
        JSON.stringify(prep.rejected),
        JSON.stringify(o.source),
      ],
    );
    const extension = o.needReply
      ? await allocateExtension(tx, enterpriseId, id, new Date((o.scheduledAt?.getTime() ?? Date.now()) + EXTENSION_LIFE_DAYS * 86_400_000))
      : null;
    if (extension) await tx.query('UPDATE sms_sends SET extension = $2 WHERE id = $1', [id, extension]);
    const merge = prep.mode === 'merge';
    for (let i = 0; i < prep.recipients.length; i += 5000) {
      const part = prep.recipients.slice(i, i + 5000);
      await tx.query(
        `INSERT INTO sms_send_recipients (send_id, seq, msisdn, carrier, name, content)
         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[])`,
        [
          id,
          part.map((_, k) => i + k + 1),
          part.map((r) => r.msisdn),
          part.map((r) => r.carrier),
          part.map((r) => r.name),
          part.map((r) => (merge ? (r.content ?? '') : null)),
        ],
      );
    }
    if (o.draftId) await tx.query('DELETE FROM sms_drafts WHERE id = $1 AND account_id = $2', [o.draftId, p.accountId]);
    return { id, extension };
  });
}
