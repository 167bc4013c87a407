import { createSignal, Show } from 'solid-js';
import { get, qs } from '../../lib/api.ts';
import { notifyError } from '../../ui/ui.tsx';
import { bt } from '../zh-CN.ts';
import { chinaTime } from './task-model.ts';

/** "Why did this number not get the task": alerting's answer, the number masked. */
export function WhyLookup(props: { id: string }) {
  const [number, setNumber] = createSignal('');
  const [answer, setAnswer] = createSignal<{ msisdn: string; reasonLabel: string; sentAt: string | null } | null>(null);
  const ask = async (e: Event) => {
    e.preventDefault();
    try {
      setAnswer(await get(`/api/bigdata/tasks/${props.id}/why${qs({ msisdn: number() })}`));
    } catch (err) {
      setAnswer(null);
      notifyError(err);
    }
  };
  return (
    <form class="bd-why" data-testid="why" onSubmit={ask}>
      <h3>{bt.tasks.why}</h3>
      <input value={number()} placeholder={bt.tasks.whyPlaceholder} onInput={(e) => setNumber(e.currentTarget.value)} />
      <button type="submit">{bt.tasks.whyAsk}</button>
      <Show when={answer()}>
        {(a) => (
          <p class="small" data-testid="why-answer">
            {bt.tasks.whyAnswer(a().msisdn, a().reasonLabel)}
            {a().sentAt ? bt.tasks.inParens(chinaTime(a().sentAt)) : ''}
          </p>
        )}
      </Show>
    </form>
  );
}
