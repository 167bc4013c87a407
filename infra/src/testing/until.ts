/**
 * Waits until `cond` holds, polling every `pollMs`; fails after `timeoutMs` saying what was awaited
 * (and the last error `cond` threw, if any). The one wait helper of the tests.
 * @example await until('all 3 jobs sent', () => sent.size === 3, 20_000)
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000, pollMs = 50): Promise<void> {
  await untilValue(what, async () => ((await cond()) ? true : undefined), timeoutMs, pollMs);
}

/** Like {@link until}, for a value: resolves with the first defined value `get` returns. */
export async function untilValue<T>(
  what: string,
  get: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  pollMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await get();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
