import { createResource, createSignal, Show, type JSX, type Resource } from 'solid-js';
import { ApiError, get, qs } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Grid, Pager } from './ui.tsx';

/** What a list endpoint answers: a page of items and how many there are in all (plus anything else, e.g. totals). */
export interface ListResponse<T> {
  items: T[];
  total: number;
}

type Filter = Record<string, string>;

/** A list page's query: see {@link createListQuery}. */
export interface ListQuery<F extends Filter, R extends ListResponse<unknown>> {
  /** The filter as the user is editing it (not searched yet). */
  draft: () => F;
  /** An input's handler that writes its value into the draft filter. */
  field: (key: keyof F & string) => (e: { currentTarget: { value: string } }) => void;
  /** The filter searched, with its page. */
  applied: () => F & { page: number };
  /** Searches the draft filter, from page 1. */
  search: () => void;
  /** Sets fields of the filter (draft and searched alike) and searches, from page 1. */
  searchWith: (patch: Partial<F>) => void;
  setPage: (page: number) => void;
  pageSize: number;
  /** The endpoint's answer for the searched filter and page. */
  data: Resource<R>;
  refetch: () => void;
}

/**
 * The query behind a list page: a filter the user edits, the one searched, the page, and the
 * answer of `GET path?<filter>&page=…` for them (`pageSize` is sent only when given: endpoints
 * have their own default of 20).
 * @example
 * const q = createListQuery<Reply>('/api/industry/inbox', { from: '', to: '', keyword: '' });
 * <input value={q.draft().keyword} onInput={q.field('keyword')} />
 */
export function createListQuery<T, F extends Filter = Filter, R extends ListResponse<T> = ListResponse<T>>(
  path: string,
  initial: F,
  opts: { pageSize?: number } = {},
): ListQuery<F, R> {
  const [draft, setDraft] = createSignal<F>(initial);
  const [applied, setApplied] = createSignal<F & { page: number }>({ ...initial, page: 1 });
  const [data, { refetch }] = createResource(applied, (q) => get<R>(`${path}${qs({ ...q, pageSize: opts.pageSize })}`));
  const edit = (patch: Partial<F>) => setDraft(() => ({ ...draft(), ...patch }) as F);
  const apply = (q: F & { page: number }) => setApplied(() => q);
  return {
    draft,
    field: (key) => (e) => edit({ [key]: e.currentTarget.value } as Partial<F>),
    applied,
    search: () => apply({ ...draft(), page: 1 }),
    searchWith: (patch) => {
      edit(patch);
      apply({ ...draft(), page: 1 });
    },
    setPage: (page) => apply({ ...applied(), page }),
    pageSize: opts.pageSize ?? 20,
    data,
    refetch: () => void refetch(),
  };
}

/**
 * A list page's filter bar: the page's inputs (`children`), then 搜索 (Enter in an input searches
 * too), then `actions`.
 */
export function ListFilters<F extends Filter>(props: {
  query: Pick<ListQuery<F, ListResponse<unknown>>, 'search'>;
  children: JSX.Element;
  actions?: JSX.Element;
}) {
  return (
    <form
      class="toolbar"
      onSubmit={(e) => {
        e.preventDefault();
        props.query.search();
      }}
    >
      {props.children}
      <button type="submit" class="primary">
        {t.common.search}
      </button>
      {props.actions}
    </form>
  );
}

/**
 * A list page's table: the rows of the searched page, 「暂无数据」 when the search found nothing,
 * rows after the items (`foot`, e.g. a totals row), the pager, and the API's message instead of
 * the rows when the list cannot be loaded.
 */
export function ListTable<T, F extends Filter, R extends ListResponse<T>>(props: {
  query: ListQuery<F, R>;
  head: readonly JSX.Element[];
  row: (item: T) => JSX.Element;
  foot?: (data: R) => JSX.Element;
  testId?: string;
}) {
  const q = () => props.query;
  // Read without throwing: a failed request shows its message instead of breaking the page.
  const ready = () => (q().data.error ? undefined : q().data());
  const failure = () => {
    const e = q().data.error as unknown;
    return e ? (e instanceof ApiError ? e.message : String((e as Error)?.message ?? e)) : '';
  };
  return (
    <>
      <Show when={failure()}>
        <p class="error" role="alert" data-testid="list-error">
          {failure()}
        </p>
      </Show>
      <Grid
        testId={props.testId}
        rows={ready()?.items as T[] | undefined}
        head={props.head}
        row={props.row}
        foot={props.foot && ready() ? props.foot(ready()!) : undefined}
      />
      <Pager page={q().applied().page} pageSize={q().pageSize} total={ready()?.total ?? 0} onPage={q().setPage} />
    </>
  );
}

/** A whole list page body: {@link ListFilters} (when there are `filters`) over {@link ListTable}. */
export function ListView<T, F extends Filter, R extends ListResponse<T>>(props: {
  query: ListQuery<F, R>;
  /** The filter inputs; none: no filter bar. */
  filters?: JSX.Element;
  /** Buttons after 搜索. */
  actions?: JSX.Element;
  head: readonly JSX.Element[];
  row: (item: T) => JSX.Element;
  foot?: (data: R) => JSX.Element;
  testId?: string;
}) {
  return (
    <>
      <Show when={props.filters}>
        <ListFilters query={props.query} actions={props.actions}>
          {props.filters}
        </ListFilters>
      </Show>
      <ListTable query={props.query} head={props.head} row={props.row} foot={props.foot} testId={props.testId} />
    </>
  );
}
