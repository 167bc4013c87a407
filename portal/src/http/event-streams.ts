import type { Queryable } from '@geo/infra';
import { registerStream } from '../auth/revocation.ts';
import { accessStillValid } from '../auth/session.ts';
import type { Ctx, Principal } from './context.ts';

/** How often an open event stream re-checks its session or key (another instance may have ended it). @default 5000 */
export const STREAM_RECHECK_MS = 5_000;

/**
 * Wraps a Server-Sent Events answer so that it ends as soon as the caller's access ends: at once
 * when this process ends it (`revokeStreams`), and within `recheckMs` when the session or key
 * disappears otherwise (another instance, an enterprise frozen, expiry) or the account no longer
 * holds the permission the route declared. Closing cancels the
 * route's own stream, which fires its `onAbort` and stops its loop. Every SSE route gets this
 * from the request middleware; none has to remember it.
 */
export function guardEventStream(c: Ctx, db: Queryable, p: Principal, recheckMs = STREAM_RECHECK_MS): void {
  const res = c.res;
  if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return;
  // The permissions the route declared (`requires(…)`): losing them ends the stream like losing the session.
  const access = c.get('access');
  const needs = access?.kind === 'enterprise' ? access.features : [];
  const src = res.body.getReader();
  let ended = false;
  let unregister = () => {};
  let timer: ReturnType<typeof setInterval> | undefined;
  const cleanup = () => {
    ended = true;
    clearInterval(timer);
    unregister();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const close = () => {
        if (ended) return;
        cleanup();
        src.cancel('access ended').catch(() => undefined);
        try {
          controller.close();
        } catch {
          // already closed by the reader's side
        }
      };
      unregister = registerStream({ accountId: p.accountId, sessionHash: p.sessionHash, needs, close });
      timer = setInterval(() => {
        accessStillValid(db, p, needs).then(
          (ok) => ok || close(),
          () => undefined,
        );
      }, recheckMs);
      timer.unref?.();
    },
    async pull(controller) {
      const r = await src.read().catch(() => ({ done: true as const, value: undefined }));
      if (ended) return;
      if (r.done) {
        cleanup();
        controller.close();
      } else controller.enqueue(r.value);
    },
    cancel(reason) {
      cleanup();
      return src.cancel(reason);
    },
  });
  c.res = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
