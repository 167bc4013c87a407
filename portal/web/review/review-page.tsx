import { createResource, createSignal, For, Match, Switch } from 'solid-js';
import { get, post } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Empty, notify, notifyError, Page, Tabs, fmtTime } from '../ui/ui.tsx';
import type { Signature } from '../signatures/signatures-page.tsx';
import { EnterprisesPanel } from '../enterprises/enterprises-panel.tsx';

const R = t.review;

interface Qualification {
  id: string;
  enterpriseName: string;
  title: string;
  fileName: string;
  createdAt: string;
}
interface Feedback {
  id: string;
  enterpriseName: string;
  submittedBy: string | null;
  content: string;
  contact: string;
  reply: string;
  createdAt: string;
}

async function act(fn: () => Promise<unknown>, after: () => void) {
  try {
    await fn();
    notify('ok', t.common.saved);
    after();
  } catch (err) {
    notifyError(err);
  }
}

function reject(path: string, after: () => void) {
  const reason = prompt(R.reasonPrompt);
  if (reason !== null) void act(() => post(path, { reason }), after);
}

function SignatureQueue() {
  const [list, { refetch }] = createResource(() => get<{ items: Signature[] }>('/api/review/signatures').then((r) => r.items));
  return (
    <table class="grid" data-testid="review-signatures">
      <thead>
        <tr>
          <th>{R.enterprise}</th>
          <th>{t.signatures.text}</th>
          <th>提交人</th>
          <th>{t.common.createdAt}</th>
          <th>{t.common.actions}</th>
        </tr>
      </thead>
      <tbody>
        <For each={list() ?? []}>
          {(s) => (
            <tr data-signature={s.text}>
              <td>{s.enterpriseName}</td>
              <td>【{s.text}】</td>
              <td>{s.submittedBy ?? '—'}</td>
              <td>{fmtTime(s.createdAt)}</td>
              <td>
                <button type="button" class="link" onClick={() => void act(() => post(`/api/review/signatures/${s.id}/approve`), refetch)}>
                  {R.approve}
                </button>
                <button type="button" class="link danger" onClick={() => reject(`/api/review/signatures/${s.id}/reject`, refetch)}>
                  {R.reject}
                </button>
              </td>
            </tr>
          )}
        </For>
        <Empty when={list()?.length === 0} cols={5} />
      </tbody>
    </table>
  );
}

function QualificationQueue() {
  const [list, { refetch }] = createResource(() => get<{ items: Qualification[] }>('/api/review/qualifications').then((r) => r.items));
  return (
    <table class="grid">
      <thead>
        <tr>
          <th>{R.enterprise}</th>
          <th>{t.settings.qualTitle}</th>
          <th>文件</th>
          <th>{t.common.createdAt}</th>
          <th>{t.common.actions}</th>
        </tr>
      </thead>
      <tbody>
        <For each={list() ?? []}>
          {(q) => (
            <tr>
              <td>{q.enterpriseName}</td>
              <td>{q.title}</td>
              <td>
                <a href={`/api/review/qualifications/${q.id}/file`}>{q.fileName}</a>
              </td>
              <td>{fmtTime(q.createdAt)}</td>
              <td>
                <button type="button" class="link" onClick={() => void act(() => post(`/api/review/qualifications/${q.id}/approve`), refetch)}>
                  {R.approve}
                </button>
                <button type="button" class="link danger" onClick={() => reject(`/api/review/qualifications/${q.id}/reject`, refetch)}>
                  {R.reject}
                </button>
              </td>
            </tr>
          )}
        </For>
        <Empty when={list()?.length === 0} cols={5} />
      </tbody>
    </table>
  );
}

function FeedbackQueue() {
  const [list, { refetch }] = createResource(() => get<{ items: Feedback[] }>('/api/review/feedback').then((r) => r.items));
  const reply = (f: Feedback) => {
    const text = prompt(t.feedback.reply, f.reply);
    if (text) void act(() => post(`/api/review/feedback/${f.id}/reply`, { reply: text }), refetch);
  };
  return (
    <table class="grid">
      <thead>
        <tr>
          <th>{R.enterprise}</th>
          <th>{t.feedback.content}</th>
          <th>{t.feedback.contact}</th>
          <th>{t.feedback.reply}</th>
          <th>{t.common.actions}</th>
        </tr>
      </thead>
      <tbody>
        <For each={list() ?? []}>
          {(f) => (
            <tr>
              <td>
                {f.enterpriseName}
                <div class="muted small">{f.submittedBy}</div>
              </td>
              <td>{f.content}</td>
              <td>{f.contact || '—'}</td>
              <td>{f.reply || '—'}</td>
              <td>
                <button type="button" class="link" onClick={() => reply(f)}>
                  {t.feedback.reply}
                </button>
              </td>
            </tr>
          )}
        </For>
        <Empty when={list()?.length === 0} cols={5} />
      </tbody>
    </table>
  );
}

/** 审核中心 (platform operator): signatures, qualification documents, feedback. */
export function ReviewPage() {
  const [tab, setTab] = createSignal('signatures');
  return (
    <Page title={R.title}>
      <Tabs
        tabs={[
          { key: 'signatures', label: R.signatures },
          { key: 'qualifications', label: R.qualifications },
          { key: 'feedback', label: R.feedback },
          { key: 'enterprises', label: t.enterprises.title },
        ]}
        active={tab()}
        onChange={setTab}
      />
      <Switch>
        <Match when={tab() === 'signatures'}>
          <SignatureQueue />
        </Match>
        <Match when={tab() === 'qualifications'}>
          <QualificationQueue />
        </Match>
        <Match when={tab() === 'feedback'}>
          <FeedbackQueue />
        </Match>
        <Match when={tab() === 'enterprises'}>
          <EnterprisesPanel />
        </Match>
      </Switch>
    </Page>
  );
}
