import type { Ctx } from './context.ts';

/**
 * Records a state-changing action: who, what, on which target, when and from where. Handlers call
 * it with a meaningful action; a middleware records the rest by method and path.
 */
export async function opLog(c: Ctx, action: string, target = '', detail: Record<string, unknown> = {}): Promise<void> {
  const p = c.get('principal');
  c.set('opLogged', true);
  await c.get('deps').db.query(
    'INSERT INTO op_log (enterprise_id, account_id, account_name, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [p?.enterpriseId ?? null, p?.accountId ?? null, p?.name ?? '', action, target, JSON.stringify(detail), c.get('ip')],
  );
}
