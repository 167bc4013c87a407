import { createEffect, createResource, createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { ApiError, get, post } from '../lib/api.ts';
import { navigate } from '../lib/router.tsx';
import { askConfirm } from '../ui/dialog.tsx';
import { Field, notify, notifyError, Page, Tabs } from '../ui/ui.tsx';
import { BookPicker } from './book-picker.tsx';
import { uploadJobs } from './upload-jobs.ts';
import { UploadProgress } from './upload-progress.tsx';
import { ti } from './zh-CN.ts';

interface Options {
  signatures: { id: string; text: string }[];
  defaultSignatureId: string | null;
  forwardTo: string;
  balances: { account: number | null; enterprise: number };
}
interface Rejected {
  source: string;
  input: string;
  reason: string;
  message: string;
}
type Mode = 'normal' | 'batch' | 'merge';

/** 发短信: 普通发送, 批量发送 and 定制发送, with live counts, address-book picking, templates, and the pre-send report. */
export function SendPage() {
  const params = new URLSearchParams(location.search);
  const [mode, setMode] = createSignal<Mode>((params.get('mode') as Mode) || 'normal');
  const [opts] = createResource(() => get<Options>('/api/industry/send-options'));
  const [templates] = createResource(() =>
    get<{ items: { id: string; title: string; content: string }[] }>('/api/industry/templates').catch(() => ({ items: [] })),
  );
  const [recipients, setRecipients] = createSignal('');
  const [groupIds, setGroupIds] = createSignal<string[]>([]);
  const [departmentIds, setDepartmentIds] = createSignal<string[]>([]);
  const [contactIds, setContactIds] = createSignal<string[]>([]);
  const [subject, setSubject] = createSignal('');
  const [content, setContent] = createSignal('');
  const [signatureId, setSignatureId] = createSignal('');
  const [needReply, setNeedReply] = createSignal(false);
  const [forwardReplies, setForwardReplies] = createSignal(false);
  const [forwardTo, setForwardTo] = createSignal('');
  const [scheduledAt, setScheduledAt] = createSignal('');
  const [draftId, setDraftId] = createSignal<string | undefined>(params.get('draft') ?? undefined);
  const [rejected, setRejected] = createSignal<Rejected[] | null>(null);
  const [counts, setCounts] = createSignal<{ ok: boolean; chars: number; tasks: number; segments: number; reason?: string } | null>(null);
  const [busy, setBusy] = createSignal(false);
  const [preview, setPreview] = createSignal<{ msisdn: string; content: string }[] | null>(null);
  const file = uploadJobs();
  const upload = file.upload;
  const uploadJob = file.job;

  createEffect(() => {
    const o = opts();
    if (o && !signatureId()) setSignatureId(o.defaultSignatureId ?? '');
    if (o && !forwardTo()) setForwardTo(o.forwardTo);
  });

  // Live counts of characters, tasks and billing segments, signature included (debounced).
  let timer: ReturnType<typeof setTimeout> | undefined;
  createEffect(() => {
    const text = content();
    const sig = signatureId();
    clearTimeout(timer);
    timer = setTimeout(() => {
      post<{ ok: boolean; chars: number; tasks: number; segments: number; reason?: string }>('/api/industry/count', {
        content: text,
        signatureId: sig || undefined,
      })
        .then(setCounts)
        .catch(() => undefined);
    }, 200);
  });
  onCleanup(() => clearTimeout(timer));

  const fill = (p: Record<string, unknown>) => {
    if (p.mode) setMode(p.mode as Mode);
    setRecipients(String(p.recipients ?? (Array.isArray(p.numbers) ? (p.numbers as string[]).join('\n') : '')));
    setGroupIds((p.groupIds as string[]) ?? []);
    setDepartmentIds((p.departmentIds as string[]) ?? []);
    setContactIds((p.contactIds as string[]) ?? []);
    setSubject(String(p.subject ?? ''));
    setContent(String(p.content ?? ''));
    if (p.signatureId) setSignatureId(String(p.signatureId));
    setNeedReply(!!p.needReply);
    setForwardReplies(!!p.forwardReplies);
    if (p.forwardTo) setForwardTo(String(p.forwardTo));
  };
  onMount(async () => {
    try {
      if (params.get('draft'))
        fill((await get<{ payload: Record<string, unknown> }>(`/api/industry/drafts/${params.get('draft')}`)).payload);
      if (params.get('resend')) {
        const d = await get<{ source: Record<string, unknown>; content: string; subject: string }>(
          `/api/industry/sends/${params.get('resend')}`,
        );
        fill({ ...d.source, subject: d.source.subject ?? d.subject, content: d.source.content ?? d.content, uploadId: undefined });
      }
    } catch (e) {
      notifyError(e);
    }
  });

  const body = (action: string, acceptRejected = false) => ({
    mode: mode(),
    ...(mode() === 'normal'
      ? { recipients: recipients(), groupIds: groupIds(), departmentIds: departmentIds(), contactIds: contactIds() }
      : { uploadId: upload()?.uploadId }),
    subject: subject() || undefined,
    content: mode() === 'merge' ? undefined : content(),
    signatureId: signatureId() || undefined,
    needReply: needReply(),
    forwardReplies: needReply() && forwardReplies(),
    forwardTo: forwardTo() || undefined,
    action,
    scheduledAt: action === 'schedule' && scheduledAt() ? new Date(scheduledAt()).toISOString() : undefined,
    draftId: draftId(),
    acceptRejected,
  });

  const check = async () => {
    try {
      const r = await post<{ recipients: number; rejected: Rejected[]; billing: number; preview?: { msisdn: string; content: string }[] }>(
        '/api/industry/sends/check',
        body('now'),
      );
      setRejected(r.rejected);
      setPreview(r.preview ?? null);
      notify('ok', ti.send.checked(r.recipients, r.billing));
    } catch (e) {
      notifyError(e);
    }
  };

  const submit = async (action: 'now' | 'schedule' | 'draft', acceptRejected = false): Promise<void> => {
    if (action === 'schedule' && !scheduledAt()) return notify('err', ti.send.pickTime);
    setBusy(true);
    try {
      const r = await post<{ state: string; recipients: number; billing: number; draftId: string | null }>(
        '/api/industry/sends',
        body(action, acceptRejected),
      );
      if (r.state === 'draft') {
        setDraftId(r.draftId ?? undefined);
        notify('ok', ti.send.drafted);
        return;
      }
      notify('ok', r.state === 'scheduled' ? ti.send.scheduled : ti.send.sent(r.recipients, r.billing));
      navigate(r.state === 'scheduled' ? '/industry/schedules' : '/industry/sent');
    } catch (e) {
      if (e instanceof ApiError && e.code === 'RECIPIENTS_REJECTED') {
        const d = e.details as unknown as { recipients: number; rejectedTotal: number; rejected: Rejected[] };
        setRejected(d.rejected);
        if (await askConfirm(ti.send.confirmSkip(d.recipients, d.rejectedTotal))) return submit(action, true);
      } else notifyError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title={ti.nav.send}>
      <Tabs
        tabs={[
          { key: 'normal', label: ti.send.normal },
          { key: 'batch', label: ti.send.batch },
          { key: 'merge', label: ti.send.merge },
        ]}
        active={mode()}
        onChange={(k) => {
          setMode(k as Mode);
          file.cancel();
          setPreview(null);
        }}
      />
      <div class="send-grid">
        <div class="card">
          <Show when={mode() === 'normal'}>
            <Field label={ti.send.recipients} required>
              <textarea
                rows={4}
                value={recipients()}
                onInput={(e) => setRecipients(e.currentTarget.value)}
                placeholder={ti.send.recipientsHint}
                data-testid="recipients"
              />
            </Field>
          </Show>
          <Show when={mode() !== 'normal'}>
            <Field label={ti.send.upload} required>
              <input
                type="file"
                accept=".txt,.csv,.xlsx"
                onChange={(e) => void file.choose(mode(), e.currentTarget.files?.[0])}
                data-testid="upload"
              />
            </Field>
            <p class="muted small">
              {mode() === 'batch' ? ti.send.uploadHint : ti.send.mergeHint}{' '}
              <a href={`/api/industry/upload-templates/${mode()}`}>{ti.send.template_download}</a>
            </p>
            <UploadProgress job={uploadJob()} report={upload()} mode={mode()} />
          </Show>
          <Field label={ti.send.subject}>
            <input value={subject()} onInput={(e) => setSubject(e.currentTarget.value)} placeholder={ti.send.subjectHint} maxLength={100} />
          </Field>
          <Show when={mode() !== 'merge'}>
            <Field label={ti.send.content} required>
              <textarea rows={6} value={content()} onInput={(e) => setContent(e.currentTarget.value)} data-testid="content" />
            </Field>
            <div class="counts" classList={{ err: counts()?.ok === false && content().length > 0 }} data-testid="counts">
              {counts() ? ti.send.counts(counts()!.chars, counts()!.tasks, counts()!.segments) : ''}
              {counts()?.ok === false && content().length > 0 ? ` — ${counts()!.reason}` : ''}
            </div>
          </Show>
          <div class="inline" style={{ 'margin-top': '12px' }}>
            <label>
              {ti.send.signature}{' '}
              <select value={signatureId()} onChange={(e) => setSignatureId(e.currentTarget.value)}>
                <Show when={opts()?.signatures.length} fallback={<option value="">{ti.send.noSignature}</option>}>
                  <For each={opts()?.signatures}>{(s) => <option value={s.id}>{ti.common.signature(s.text)}</option>}</For>
                </Show>
              </select>
            </label>
            <Show when={mode() !== 'merge' && templates()?.items.length}>
              <label>
                {ti.send.template}{' '}
                <select
                  value=""
                  onChange={(e) => {
                    const tpl = templates()?.items.find((x) => x.id === e.currentTarget.value);
                    if (tpl) setContent(content() + tpl.content);
                    e.currentTarget.value = '';
                  }}
                >
                  <option value="">—</option>
                  <For each={templates()?.items}>{(x) => <option value={x.id}>{x.title}</option>}</For>
                </select>
              </label>
            </Show>
          </div>
          <div class="inline" style={{ 'margin-top': '8px' }}>
            <label>
              <input type="checkbox" checked={needReply()} onChange={(e) => setNeedReply(e.currentTarget.checked)} /> {ti.send.needReply}
            </label>
            <Show when={needReply()}>
              <label>
                <input type="checkbox" checked={forwardReplies()} onChange={(e) => setForwardReplies(e.currentTarget.checked)} />{' '}
                {ti.send.forward}
              </label>
              <Show when={forwardReplies()}>
                <input value={forwardTo()} onInput={(e) => setForwardTo(e.currentTarget.value)} placeholder={ti.send.forwardTo} size={14} />
              </Show>
            </Show>
          </div>
          {/* Batch and mail-merge files have their report (errors, preview) above: shown once. */}
          <Show when={mode() === 'normal' && rejected()?.length}>
            <h3 class="small">{ti.send.rejectedTitle}</h3>
            <ul class="rejected" data-testid="rejected">
              <For each={rejected()!}>{(r) => <li>{r.message}</li>}</For>
            </ul>
          </Show>
          <Show when={mode() === 'normal' && preview()}>
            <h3 class="small">{ti.send.preview}</h3>
            <ul class="small">
              <For each={preview()!}>{(p) => <li>{ti.common.labelled(p.msisdn, p.content)}</li>}</For>
            </ul>
          </Show>
          <p class="muted small">{opts() ? ti.send.balance(opts()!.balances.account, opts()!.balances.enterprise) : ''}</p>
          <div class="form-actions" style={{ 'justify-content': 'flex-start' }}>
            <button type="button" onClick={() => void check()}>
              {ti.send.check}
            </button>
            <button
              type="button"
              class="primary"
              disabled={busy() || !!uploadJob()}
              onClick={() => void submit('now')}
              data-testid="send-now"
            >
              {ti.send.sendNow}
            </button>
            <input
              type="datetime-local"
              value={scheduledAt()}
              onInput={(e) => setScheduledAt(e.currentTarget.value)}
              aria-label={ti.send.scheduledAt}
            />
            <button type="button" disabled={busy()} onClick={() => void submit('schedule')}>
              {ti.send.schedule}
            </button>
            <Show when={mode() === 'normal'}>
              <button type="button" disabled={busy()} onClick={() => void submit('draft')}>
                {ti.send.draft}
              </button>
            </Show>
          </div>
        </div>
        <Show when={mode() === 'normal'}>
          <BookPicker
            groupIds={groupIds}
            setGroupIds={setGroupIds}
            departmentIds={departmentIds}
            setDepartmentIds={setDepartmentIds}
            contactIds={contactIds}
            setContactIds={setContactIds}
          />
        </Show>
      </div>
    </Page>
  );
}
