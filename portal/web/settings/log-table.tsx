import { createResource, createSignal, type JSX } from 'solid-js';
import { get, qs } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Grid, Pager } from '../ui/ui.tsx';

/** A searchable, paginated log (operation log, login log). */
export function LogTable<T>(props: { path: string; head: string[]; row: (r: T) => JSX.Element; testId: string }) {
  const [filter, setFilter] = createSignal({ keyword: '', from: '', to: '', page: 1 });
  const [data] = createResource(filter, (f) => get<{ items: T[]; total: number }>(`${props.path}${qs({ ...f, pageSize: 20 })}`));
  return (
    <>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          setFilter({ keyword: String(f.get('keyword') ?? ''), from: String(f.get('from') ?? ''), to: String(f.get('to') ?? ''), page: 1 });
        }}
      >
        <input name="keyword" placeholder={t.settings.keyword} />
        <label>
          {t.settings.from} <input type="date" name="from" />
        </label>
        <label>
          {t.settings.to} <input type="date" name="to" />
        </label>
        <button type="submit">{t.common.search}</button>
      </form>
      <Grid testId={props.testId} rows={data()?.items} head={props.head} row={props.row} />
      <Pager page={filter().page} pageSize={20} total={data()?.total ?? 0} onPage={(page) => setFilter({ ...filter(), page })} />
    </>
  );
}
