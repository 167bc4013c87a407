import { createSignal, For, Show, type JSX } from 'solid-js';
import { ApiError } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { askConfirm } from './dialog.tsx';

/** Shared primitives: page frame, notices, modal, pager, form field, data table, API actions. */

const [toast, setToast] = createSignal<{ kind: 'ok' | 'err'; text: string } | null>(null);
let toastTimer: ReturnType<typeof setTimeout> | undefined;
export function notify(kind: 'ok' | 'err', text: string): void {
  setToast({ kind, text });
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => setToast(null), 4000);
}
export const notifyError = (e: unknown) => notify('err', e instanceof ApiError ? e.message : String((e as Error)?.message ?? e));

export function Toast() {
  return (
    <Show when={toast()}>
      {(m) => (
        <div class={`toast toast-${m().kind}`} role={m().kind === 'err' ? 'alert' : 'status'}>
          {m().text}
        </div>
      )}
    </Show>
  );
}

export function Page(props: { title: string; actions?: JSX.Element; children: JSX.Element }) {
  return (
    <section class="page">
      <header class="page-head">
        <h1>{props.title}</h1>
        <div class="page-actions">{props.actions}</div>
      </header>
      {props.children}
    </section>
  );
}

export function Modal(props: { title: string; onClose: () => void; children: JSX.Element; wide?: boolean }) {
  return (
    <div class="modal-back" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal" classList={{ wide: props.wide }} role="dialog" aria-label={props.title}>
        <header>
          <h2>{props.title}</h2>
          <button type="button" class="link" onClick={props.onClose} aria-label={t.common.close}>
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

export function Field(props: { label: string; children: JSX.Element; required?: boolean }) {
  return (
    <label class="field">
      <span>
        {props.label}
        {props.required ? <em>*</em> : null}
      </span>
      {props.children}
    </label>
  );
}

export function Pager(props: { page: number; pageSize: number; total: number; onPage: (p: number) => void }) {
  const pages = () => Math.max(1, Math.ceil(props.total / props.pageSize));
  return (
    <div class="pager">
      <span>{t.common.total(props.total)}</span>
      <button type="button" disabled={props.page <= 1} onClick={() => props.onPage(props.page - 1)}>
        {t.common.prev}
      </button>
      <span>{t.common.page(props.page, pages())}</span>
      <button type="button" disabled={props.page >= pages()} onClick={() => props.onPage(props.page + 1)}>
        {t.common.next}
      </button>
    </div>
  );
}

export function Empty(props: { when: boolean; cols: number }) {
  return (
    <Show when={props.when}>
      <tr>
        <td colspan={props.cols} class="empty">
          {t.app.none}
        </td>
      </tr>
    </Show>
  );
}

/**
 * A data table: one header row, one row per item from `row`, and 「暂无数据」 across all columns when
 * the list is known to be empty (not while it is still loading); `foot` rows (a totals row) last.
 */
export function Grid<T>(props: {
  rows: readonly T[] | undefined;
  head: readonly JSX.Element[];
  row: (item: T) => JSX.Element;
  foot?: JSX.Element;
  testId?: string;
}) {
  return (
    <table class="grid" data-testid={props.testId}>
      <thead>
        <tr>
          <For each={props.head}>{(h) => <th>{h}</th>}</For>
        </tr>
      </thead>
      <tbody>
        <For each={props.rows ?? []}>{(r) => props.row(r)}</For>
        <Empty when={props.rows?.length === 0} cols={props.head.length} />
        {props.foot}
      </tbody>
    </table>
  );
}

/**
 * Runs a change against the API: on success a notice (`t.common.saved` unless told) and `after`
 * (usually the list's refetch); on failure the API's message as an error notice.
 */
export async function runAction(fn: () => Promise<unknown>, after?: () => unknown, message: string = t.common.saved): Promise<boolean> {
  try {
    await fn();
    notify('ok', message);
    void after?.();
    return true;
  } catch (err) {
    notifyError(err);
    return false;
  }
}

/** A confirmed delete: asks `t.common.confirmDelete` in the app's dialog, then runs it with the 「已删除」 notice. */
export function confirmDelete(fn: () => Promise<unknown>, after?: () => unknown): void {
  void askConfirm(t.common.confirmDelete, { danger: true }).then((yes) => yes && runAction(fn, after, t.common.deleted));
}

export function Badge(props: { kind: 'ok' | 'warn' | 'err' | 'muted'; children: JSX.Element }) {
  return <span class={`badge badge-${props.kind}`}>{props.children}</span>;
}

/** A time as people in China read it, whatever the browser's time zone. */
export const fmtTime = (s: string | null | undefined) =>
  s ? new Date(s).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : '—';

export function Tabs(props: { tabs: { key: string; label: string }[]; active: string; onChange: (k: string) => void }) {
  return (
    <nav class="tabs">
      <For each={props.tabs}>
        {(tab) => (
          <button type="button" classList={{ active: props.active === tab.key }} onClick={() => props.onChange(tab.key)}>
            {tab.label}
          </button>
        )}
      </For>
    </nav>
  );
}
