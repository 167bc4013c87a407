import { createResource, createSignal, Match, Switch } from 'solid-js';
import { get, post } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { askText } from '../ui/dialog.tsx';
import { Grid, Page, runAction, Tabs, fmtTime } from '../ui/ui.tsx';
import type { Signature } from '../signatures/signatures-page.tsx';
import { EnterprisesPanel } from '../enterprises/enterprises-panel.tsx';
import { BoundariesPanel } from '../bigdata/boundaries/boundaries-panel.tsx';
import { bnd } from '../bigdata/boundaries/zh-CN.ts';

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

async function reject(path: string, after: () => void) {
  const reason = await askText({ title: R.reject, label: R.reason, placeholder: R.reasonPrompt, type: 'textarea' });
  if (reason !== null) void runAction(() => post(path, { reason }), after);
}

/** Approve / reject buttons for one pending item under `base` (…/approve, …/reject). */
function Verdict(props: { base: string; after: () => void }) {
  return (
    <>
      <button type="button" class="link" onClick={() => void runAction(() => post(`${props.base}/approve`), props.after)}>
        {R.approve}
      </button>
      <button type="button" class="link danger" onClick={() => void reject(`${props.base}/reject`, props.after)}>
        {R.reject}
      </button>
    </>
  );
}

function SignatureQueue() {
  const [list, { refetch }] = createResource(() => get<{ items: Signature[] }>('/api/review/signatures').then((r) => r.items));
  return (
    <Grid
      testId="review-signatures"
      rows={list()}
      head={[R.enterprise, t.signatures.text, R.submitter, t.common.createdAt, t.common.actions]}
      row={(s) => (
        <tr data-signature={s.text}>
          <td>{s.enterpriseName}</td>
          <td>{t.fmt.signature(s.text)}</td>
          <td>{s.submittedBy ?? '—'}</td>
          <td>{fmtTime(s.createdAt)}</td>
          <td>
            <Verdict base={`/api/review/signatures/${s.id}`} after={refetch} />
          </td>
        </tr>
      )}
    />
  );
}

function QualificationQueue() {
  const [list, { refetch }] = createResource(() => get<{ items: Qualification[] }>('/api/review/qualifications').then((r) => r.items));
  return (
    <Grid
      rows={list()}
      head={[R.enterprise, t.settings.qualTitle, t.fmt.file, t.common.createdAt, t.common.actions]}
      row={(q) => (
        <tr>
          <td>{q.enterpriseName}</td>
          <td>{q.title}</td>
          <td>
            <a href={`/api/review/qualifications/${q.id}/file`}>{q.fileName}</a>
          </td>
          <td>{fmtTime(q.createdAt)}</td>
          <td>
            <Verdict base={`/api/review/qualifications/${q.id}`} after={refetch} />
          </td>
        </tr>
      )}
    />
  );
}

function FeedbackQueue() {
  const [list, { refetch }] = createResource(() => get<{ items: Feedback[] }>('/api/review/feedback').then((r) => r.items));
  const reply = async (f: Feedback) => {
    const text = await askText({
      title: t.feedback.replyTitle,
      message: f.content,
      label: t.feedback.reply,
      value: f.reply,
      type: 'textarea',
    });
    if (text) void runAction(() => post(`/api/review/feedback/${f.id}/reply`, { reply: text }), refetch);
  };
  return (
    <Grid
      rows={list()}
      head={[R.enterprise, t.feedback.content, t.feedback.contact, t.feedback.reply, t.common.actions]}
      row={(f) => (
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
    />
  );
}

/** 审核中心 (platform operator): signatures, qualification documents, feedback, enterprises, administrative boundaries. */
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
          { key: 'boundaries', label: bnd.title },
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
        <Match when={tab() === 'boundaries'}>
          <BoundariesPanel />
        </Match>
      </Switch>
    </Page>
  );
}
