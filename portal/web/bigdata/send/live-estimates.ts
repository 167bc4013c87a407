import { createEffect, createSignal, type Accessor } from 'solid-js';
import type { CrowdRule } from '@geo/alerting';
import { ApiError, post } from '../../lib/api.ts';
import { quotaOf, regionParts, type SendForm } from '../form-model.ts';
import type { Reach } from './reach-panel.tsx';

/** The server's count of a text: characters, SMS segments, tasks (or why it cannot be sent). */
export type Count = { ok: true; chars: number; segments: number; tasks: number } | { ok: false; reason: string };

/** Live reach estimate while drawing: debounced, the latest answer wins. */
export function liveReach(form: SendForm): Accessor<Reach | { error: string } | null> {
  const [reach, setReach] = createSignal<Reach | { error: string } | null>(null);
  let reachTimer: ReturnType<typeof setTimeout> | undefined;
  let reachSeq = 0;
  createEffect(() => {
    // A deep copy, read inside the effect: every coordinate is tracked. A cut (挖空) or an edited
    // vertex changes a part in place (the store reconciles by position), which reading the parts
    // alone does not see: the estimate stayed that of the region without the hole.
    const region = { parts: JSON.parse(JSON.stringify(regionParts(form))) as ReturnType<typeof regionParts> };
    // Budgets still being typed (0) are left out of the estimate rather than refused.
    const quota = Object.fromEntries(Object.entries(quotaOf(form)).filter(([, q]) => q.total > 0 && q.dailyCap > 0));
    const body = { region, rules: JSON.parse(JSON.stringify(form.rules)) as CrowdRule[], quota };
    clearTimeout(reachTimer);
    if (!region.parts.length) return setReach(null);
    const seq = ++reachSeq;
    reachTimer = setTimeout(async () => {
      try {
        const r = await post<Reach>('/api/bigdata/reach', body);
        if (seq === reachSeq) setReach(r);
      } catch (e) {
        if (seq === reachSeq) setReach({ error: e instanceof ApiError ? e.message : String(e) });
      }
    }, 500);
  });
  return reach;
}

/** The live count of a signed text (debounced); null while nothing is known, or while `when` says there is nothing to count. */
export function liveCount(
  signature: Accessor<string>,
  content: Accessor<string>,
  when: Accessor<boolean> = () => true,
): Accessor<Count | null> {
  const [count, setCount] = createSignal<Count | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  createEffect(() => {
    const body = { signature: signature(), content: content() };
    clearTimeout(timer);
    if (!when()) return setCount(null);
    timer = setTimeout(() => void post<Count>('/api/bigdata/count', body).then(setCount, () => setCount(null)), 250);
  });
  return count;
}
