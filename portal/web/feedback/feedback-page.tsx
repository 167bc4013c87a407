import { createResource } from 'solid-js';
import { get, post } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Badge, Field, Grid, Page, runAction, fmtTime } from '../ui/ui.tsx';

interface Feedback {
  id: string;
  submittedBy: string | null;
  content: string;
  contact: string;
  reply: string;
  createdAt: string;
}

/** 意见反馈: submit suggestions; the operator's replies show here and as messages. */
export function FeedbackPage() {
  const [list, { refetch }] = createResource(() => get<{ items: Feedback[] }>('/api/feedback').then((r) => r.items));
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    if (await runAction(() => post('/api/feedback', { content: f.get('content'), contact: f.get('contact') }), refetch)) form.reset();
  };
  return (
    <Page title={t.feedback.title}>
      <form class="card" onSubmit={submit}>
        <p class="muted">{t.feedback.intro}</p>
        <Field label={t.feedback.content} required>
          <textarea name="content" rows={4} required maxlength={2000} />
        </Field>
        <Field label={t.feedback.contact}>
          <input name="contact" maxlength={64} />
        </Field>
        <button type="submit" class="primary">
          {t.common.submit}
        </button>
      </form>
      <Grid
        rows={list()}
        head={[t.feedback.content, t.feedback.reply, t.common.createdAt]}
        row={(f) => (
          <tr>
            <td>
              {f.content}
              <div class="muted small">{f.submittedBy}</div>
            </td>
            <td>{f.reply || <Badge kind="warn">{t.feedback.waiting}</Badge>}</td>
            <td>{fmtTime(f.createdAt)}</td>
          </tr>
        )}
      />
    </Page>
  );
}
