import type { Queryable } from '@geo/infra';
import { AppError } from '../../errors.ts';

/**
 * The text of a signature the enterprise may send with: it must exist in that enterprise and be
 * approved. Sending features call this before accepting a send.
 */
export async function usableSignature(db: Queryable, enterpriseId: string, signatureId: string): Promise<string> {
  const { rows } = await db.query<{ text: string; status: string }>(
    'SELECT text, status FROM signatures WHERE id = $1 AND enterprise_id = $2',
    [signatureId, enterpriseId],
  );
  if (!rows[0]) throw new AppError('NOT_FOUND', '签名不存在');
  if (rows[0].status !== 'approved') throw new AppError('SIGNATURE_NOT_APPROVED');
  return rows[0].text;
}
