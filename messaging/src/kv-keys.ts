/** A KV key token for any id: plain ids as they are, others base64url (KV keys allow [-/_=.A-Za-z0-9]). */
export function kvToken(id: string): string {
  return /^[A-Za-z0-9_-]{1,200}$/.test(id) ? `p${id}` : `b${Buffer.from(id).toString('base64url')}`;
}
