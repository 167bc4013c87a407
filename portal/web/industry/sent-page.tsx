import { createResource, createSignal, For, Show } from 'solid-js';
import { get, qs } from '../lib/api.ts';
import { navigate } from '../lib/router.tsx';
import { createListQuery, ListFilters, ListTable } from '../ui/list-page.tsx';
import { Badge, fmtTime, Modal, Page, Pager } from '../ui/ui.tsx';
import { ti } from './zh-CN.ts';

export interface SendSummary {
  id: string;
  accountName: string;
  subject: string;
  content: string;
  signature: string;
  recipients: number;
  billing: number;
  state: string;
  /** Follows the numbers: delivered / partly_failed / failed / pending (see the API). */
  status: string;
  scheduledAt: string | null;
  createdAt: string;
  sentAt: string | null;
  replies: number;
  delivered: number | null;
  failed: number | null;
  extension: string | null;
}
interface Detail extends SendSummary {
  recipientsPage: { seq: number; msisdn: string; name: string; carrier: string; content: string | null; state: string; code: string }[];
  statusSource: 'send_log' | 'portal';
  rejected: { message: string }[];
  counts: Record<string, number>;
}

const stateKind = (s: string) => (s === 'delivered' ? 'ok' : s === 'failed' ? 'err' : s === 'submitted' ? 'warn' : 'muted');
const statusKind = (s: string) =>
  s === 'delivered' ? 'ok' : s === 'failed' || s === 'partly_failed' ? 'err' : s === 'pending' || s === 'submitted' ? 'warn' : 'muted';

/** A send's details: every number with its state (提交 / 成功 / 失败 + reason), and its replies. */
export function SendDetail(props: { id: string; onClose: () => void }) {
  const [page, setPage] = createSignal(1);
  const [d] = createResource(
    () => [props.id, page()] as const,
    ([id, p]) => get<Detail>(`/api/industry/sends/${id}${qs({ page: p, pageSize: 50 })}`),
  );
  const [replies] = createResource(
    () => props.id,
    (id) => get<{ items: { id: string; from: string; text: string; receivedAt: string }[] }>(`/api/industry/sends/${id}/replies`),
  );
  return (
    <Modal title={ti.sent.detail} onClose={props.onClose} wide>
      <Show when={d()}>
        {(x) => (
          <>
            <p>
              <strong>{x().subject}</strong> · {fmtTime(x().createdAt)} · {x().accountName}
            </p>
            <p class="muted">{ti.common.signed(x().signature, x().content)}</p>
            <p class="small">
              {ti.common.commaList(Object.entries(x().counts).map(([k, v]) => `${ti.sent.rstates[k]} ${v}`))}
              {ti.sent.extension(x().extension)}
            </p>
            <Show when={x().statusSource === 'portal'}>
              <p class="muted small">{ti.sent.fromPortal}</p>
            </Show>
            <Show when={x().rejected.length}>
              <ul class="rejected">
                <For each={x().rejected}>{(r) => <li>{r.message}</li>}</For>
              </ul>
            </Show>
            <table class="grid">
              <thead>
                <tr>
                  <th>{ti.sent.phone}</th>
                  <th>{ti.sent.recipient}</th>
                  <th>{ti.sent.state}</th>
                </tr>
              </thead>
              <tbody>
                <For each={x().recipientsPage}>
                  {(r) => (
                    <tr data-msisdn={r.msisdn} data-state={r.state}>
                      <td>{r.msisdn}</td>
                      <td>{r.name}</td>
                      <td>
                        <Badge kind={stateKind(r.state)}>{ti.sent.rstates[r.state] ?? r.state}</Badge> {r.code}
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
            <Pager page={page()} pageSize={50} total={x().recipients} onPage={setPage} />
            <h3 class="small">{ti.sent.viewReplies}</h3>
            <ul class="small">
              <For each={replies()?.items} fallback={<li class="muted">—</li>}>
                {(r) => (
                  <li>
                    {fmtTime(r.receivedAt)} {ti.common.labelled(r.from, r.text)}
                  </li>
                )}
              </For>
            </ul>
          </>
        )}
      </Show>
    </Modal>
  );
}

interface SentList {
  items: SendSummary[];
  total: number;
  totals: { recipients: number; billing: number; sends: number; delivered: number | null; failed: number | null };
}

/** 已发送: search by user, time, subject, phone or recipient; a total row; details; edit-and-resend; replies. */
export function SentPage() {
  const q = createListQuery<SendSummary, Record<'accountId' | 'from' | 'to' | 'subject' | 'phone' | 'recipient', string>, SentList>(
    '/api/industry/sends',
    { accountId: '', from: '', to: '', subject: '', phone: '', recipient: '' },
  );
  const [users] = createResource(() =>
    get<{ items: { id: string; name: string }[] }>('/api/industry/senders').catch(() => ({ items: [] })),
  );
  const [open, setOpen] = createSignal<string | null>(null);
  return (
    <Page title={ti.nav.sent}>
      <ListFilters query={q}>
        <select value={q.draft().accountId} onChange={q.field('accountId')} aria-label={ti.sent.user}>
          <option value="">{ti.sent.allUsers}</option>
          <For each={users()?.items}>{(u) => <option value={u.id}>{u.name}</option>}</For>
        </select>
        <input type="date" value={q.draft().from} onInput={q.field('from')} aria-label={ti.sent.from} />
        <input type="date" value={q.draft().to} onInput={q.field('to')} aria-label={ti.sent.to} />
        <input placeholder={ti.sent.subject} value={q.draft().subject} onInput={q.field('subject')} />
        <input placeholder={ti.sent.phone} value={q.draft().phone} onInput={q.field('phone')} />
        <input placeholder={ti.sent.recipient} value={q.draft().recipient} onInput={q.field('recipient')} />
      </ListFilters>
      <ListTable
        query={q}
        testId="sent-list"
        head={[
          ti.sent.subject,
          ti.sent.user,
          ti.sent.created,
          ti.sent.time,
          ti.sent.count,
          ti.sent.billing,
          ti.sent.success,
          ti.sent.failed,
          ti.sent.state,
          ti.common.actions,
        ]}
        row={(s: SendSummary) => (
          <tr
            data-send={s.id}
            data-subject={s.subject}
            data-recipients={s.recipients}
            data-delivered={s.delivered ?? ''}
            data-state={s.state}
            data-status={s.status}
          >
            <td title={s.content}>{s.subject}</td>
            <td>{s.accountName}</td>
            <td>{fmtTime(s.createdAt)}</td>
            <td title={s.scheduledAt ? `${ti.sent.scheduledFor}${fmtTime(s.scheduledAt)}` : undefined}>
              {s.sentAt ? fmtTime(s.sentAt) : s.scheduledAt ? `${ti.sent.scheduledFor}${fmtTime(s.scheduledAt)}` : '—'}
            </td>
            <td>{s.recipients}</td>
            <td>{s.billing}</td>
            <td>{s.delivered ?? '—'}</td>
            <td>{s.failed ?? '—'}</td>
            <td>
              <Badge kind={statusKind(s.status)}>{ti.sent.statuses[s.status] ?? ti.sent.states[s.state] ?? s.state}</Badge>
            </td>
            <td>
              <button type="button" class="link" onClick={() => setOpen(s.id)}>
                {ti.common.view}
              </button>
              <button type="button" class="link" onClick={() => navigate(`/industry/send?resend=${s.id}`)}>
                {ti.sent.resend}
              </button>
              <Show when={s.replies > 0}>
                <button type="button" class="link" onClick={() => navigate(`/industry/inbox?sendId=${s.id}`)}>
                  {ti.common.withCount(ti.sent.viewReplies, s.replies)}
                </button>
              </Show>
            </td>
          </tr>
        )}
        foot={(d) => (
          <tr class="total">
            <td colspan={4}>{ti.common.sends(ti.sent.total, d.totals.sends)}</td>
            <td>{d.totals.recipients}</td>
            <td>{d.totals.billing}</td>
            <td>{d.totals.delivered ?? '—'}</td>
            <td>{d.totals.failed ?? '—'}</td>
            <td colspan={2} />
          </tr>
        )}
      />
      <p class="muted small">{ti.sent.note}</p>
      <Show when={open()}>{(id) => <SendDetail id={id()} onClose={() => setOpen(null)} />}</Show>
    </Page>
  );
}
