import type { JSX } from 'solid-js';
import { t } from '../i18n/zh-CN.ts';
import { createListQuery, ListView } from '../ui/list-page.tsx';

/** A searchable, paginated log (operation log, login log). */
export function LogTable<T>(props: { path: string; head: string[]; row: (r: T) => JSX.Element; testId: string }) {
  const q = createListQuery<T>(props.path, { keyword: '', from: '', to: '' }, { pageSize: 20 });
  return (
    <ListView
      query={q}
      testId={props.testId}
      head={props.head}
      row={props.row}
      filters={
        <>
          <input name="keyword" placeholder={t.settings.keyword} value={q.draft().keyword} onInput={q.field('keyword')} />
          <label>
            {t.settings.from} <input type="date" name="from" value={q.draft().from} onInput={q.field('from')} />
          </label>
          <label>
            {t.settings.to} <input type="date" name="to" value={q.draft().to} onInput={q.field('to')} />
          </label>
        </>
      }
    />
  );
}
