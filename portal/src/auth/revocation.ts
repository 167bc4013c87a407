/**
 * Open long-lived answers (Server-Sent Events) by account, so that ending an account's access —
 * freeze, password reset or change, delete, logout — closes them at once instead of letting them
 * stream on with the access they were opened with. The request middleware registers every event
 * stream it passes; `endAccountAccess` and friends call `revokeStreams`.
 *
 * This map is per process. A stream served by another portal instance is caught by the
 * middleware's periodic re-check of its session or key (`STREAM_RECHECK_MS`).
 */
export interface OpenStream {
  accountId: string;
  /** The session that opened it; undefined for an API key. */
  sessionHash: string | undefined;
  /** The permissions its route declared, any one of which lets it through (none: every account). */
  needs?: readonly string[];
  close(): void;
}

const open = new Map<string, Set<OpenStream>>();

export function registerStream(s: OpenStream): () => void {
  let set = open.get(s.accountId);
  if (!set) open.set(s.accountId, (set = new Set()));
  set.add(s);
  return () => {
    set.delete(s);
    if (set.size === 0 && open.get(s.accountId) === set) open.delete(s.accountId);
  };
}

/**
 * Closes the account's open streams, all of them or those of one session; `exceptSession` keeps
 * the streams of the session that made the change.
 */
export function revokeStreams(accountId: string, opts: { session?: string; exceptSession?: string } = {}): number {
  const set = open.get(accountId);
  if (!set) return 0;
  let n = 0;
  for (const s of [...set]) {
    if (opts.session !== undefined && s.sessionHash !== opts.session) continue;
    if (opts.exceptSession !== undefined && s.sessionHash === opts.exceptSession) continue;
    s.close();
    n++;
  }
  return n;
}

/**
 * Closes the account's open streams whose route needs a permission the account no longer holds
 * (`held`: its permissions now), when they were taken away here; other instances' streams end at
 * their next re-check.
 */
export function revokeStreamsLacking(accountId: string, held: readonly string[]): number {
  const set = open.get(accountId);
  if (!set) return 0;
  let n = 0;
  for (const s of [...set]) {
    if (!s.needs?.length || s.needs.some((f) => held.includes(f))) continue;
    s.close();
    n++;
  }
  return n;
}

/** How many streams are open, for tests and metrics. */
export const openStreamCount = (): number => [...open.values()].reduce((n, s) => n + s.size, 0);
