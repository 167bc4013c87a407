import { createEffect, createResource, createSignal, For, on, onCleanup, onMount, Show, untrack } from 'solid-js';
import { createStore, reconcile, unwrap } from 'solid-js/store';
import { api, ApiError, get, post, put } from '../../lib/api.ts';
import { navigate } from '../../lib/router.tsx';
import { askConfirm } from '../../ui/dialog.tsx';
import { notify, notifyError } from '../../ui/ui.tsx';
import { GeoMap } from '../../map/index.ts';
import { emptyForm, errorsStillStanding, fromPayload, regionParts, toPayload, type SavedForm, type SendForm } from '../form-model.ts';
import { bt } from '../zh-CN.ts';
import { AreaPicker } from './area-picker.tsx';
import { CrowdRules } from './crowd-rules.tsx';
import { errorsAt, FieldError } from './form-section.tsx';
import { liveCount, liveReach } from './live-estimates.ts';
import { MapToolbar } from './map-toolbar.tsx';
import { QuotaFields } from './quota-fields.tsx';
import { ReachPanel } from './reach-panel.tsx';
import { ScheduleFields } from './schedule-fields.tsx';
import { WhatIfPanel } from '../what-if-panel.tsx';
import { CheckInField } from '../checkins/checkin-field.tsx';
import { HysteresisField } from '../hysteresis/hysteresis-field.tsx';

interface Options {
  alertTypes: { value: string; label: string; template: string }[];
  signatures: { id: string; text: string; isDefault: boolean }[];
  balance: number;
  today: string;
  /** Alert types that may be sent first and approved afterwards (empty unless the enterprise requires approval). */
  fastPathTypes: string[];
}

/**
 * 大数据短信-发短信: task settings on the left, the map with drawing tools on the right. The page
 * holds the one form store, its errors and the map; the parts of the form (schedule, crowd rules,
 * quota) get the store and the errors as props (`FormSectionProps`), the live counts and reach are
 * `live-estimates.ts`, the map's tools `map-toolbar.tsx`.
 */
export function SendPage() {
  const params = new URLSearchParams(location.search);
  const draftId = params.get('draft');
  const fromTask = params.get('from');
  const [opts] = createResource(() => get<Options>('/api/bigdata/options'));
  // The emergency fast path (先发后审) is offered only for an alert type the enterprise allows it for
  // (the options say which, to any sender: reading the settings themselves needs bigdata.tasks).
  const [fastPath, setFastPath] = createSignal(false);
  const fastPathAllowed = () => !!opts()?.fastPathTypes?.includes(form.alertType);
  const [form, setForm] = createStore<SendForm>(emptyForm(''));
  const [errs, setErrs] = createSignal<Record<string, string>>({});
  const [busy, setBusy] = createSignal(false);
  let mapEl!: HTMLDivElement;
  let formEl!: HTMLFormElement;
  let map: GeoMap | undefined;

  // Defaults once the options arrive; then a draft or a task to send again, when asked.
  createEffect(
    on(opts, async (o) => {
      if (!o) return;
      const def = o.signatures.find((s) => s.isDefault)?.text ?? o.signatures[0]?.text ?? '';
      setForm(reconcile(emptyForm(o.today, def)));
      try {
        if (draftId) setForm(reconcile(fromPayload((await get<{ form: SavedForm }>(`/api/bigdata/drafts/${draftId}`)).form, o.today)));
        else if (fromTask)
          setForm(reconcile(fromPayload((await get<{ form: SavedForm }>(`/api/bigdata/tasks/${fromTask}`)).form, o.today)));
      } catch (e) {
        notifyError(e);
      }
      if (map?.ready) {
        map.setShapes(unwrap(form).drawn);
        fitToRegion();
      }
    }),
  );
  /** Brings the whole region into view: after picking an area and after restoring a saved region. */
  const fitToRegion = () => {
    const parts = regionParts(unwrap(form));
    if (map?.ready && parts.length) void map.fitRegion(parts);
  };

  onMount(() => {
    map = new GeoMap(mapEl, { draw: true });
    map.on('shapes', (parts) => setForm('drawn', reconcile(parts)));
    map.on('ready', () => {
      map!.setShapes(unwrap(form).drawn);
      fitToRegion();
    });
  });
  onCleanup(() => map?.destroy());

  createEffect(() => void map?.setHighlightAreas(form.areas.map((a) => a.code)));
  // An area picked (or imported regions added): fit the view to the region; drawing does not move it.
  createEffect(
    on(
      () => [...form.areas.map((a) => a.code), ...form.imported.map((_, i) => `i${i}`)].join(','),
      (now, before) => {
        if (now && now !== before) fitToRegion();
      },
      { defer: true },
    ),
  );
  createEffect(() => map?.setOverlayParts([...form.imported]));

  const reach = liveReach(form);
  // An exercise's prefix (【演练】, [EXERCISE] before an English text) is part of every SMS: counted in its characters and segments.
  const count = liveCount(
    () => form.signature,
    () => (form.exercise ? bt.send.exercisePrefix : '') + form.content,
  );
  const englishCount = liveCount(
    () => form.signature,
    () => (form.exercise ? bt.send.exercisePrefixEn : '') + form.english,
    () => !!form.english.trim(),
  );

  // A check-in asks people to answer: an English text must say how too (foreigners get only that one).
  const englishPrompt = () => (form.checkIn ? bt.send.checkInEnglish.prompt(form.checkIn.options) : '');
  const englishPromptMissing = () => !!form.checkIn && !!form.english.trim() && !form.english.includes(englishPrompt());
  const addEnglishPrompt = () => {
    if (!englishPromptMissing()) return;
    // A sentence of its own, as the server writes it when it adds one (so it is not added twice).
    const t = form.english.trimEnd();
    setForm('english', `${t}${/[.!?]$/.test(t) ? ' ' : '. '}${englishPrompt()}.`);
  };

  const uploadLetter = async (file: File) => {
    const fd = new FormData();
    fd.set('file', file);
    try {
      const r = await api<{ id: string; name: string }>('POST', '/api/bigdata/letters', fd);
      setForm('letter', { id: r.id, name: r.name });
      setErrs({ ...errs(), authorizationLetter: '' });
    } catch (e) {
      setErrs({ ...errs(), authorizationLetter: e instanceof ApiError ? e.message : String(e) });
    }
  };

  // The form as last submitted: an error goes as soon as its field differs from it.
  let submitted: unknown = null;
  createEffect(
    on(
      () => JSON.stringify(toPayload(form)),
      (now) => {
        const errors = untrack(errs);
        if (!submitted || !Object.keys(errors).length) return;
        const left = errorsStillStanding(errors, submitted, JSON.parse(now));
        if (Object.keys(left).length !== Object.keys(errors).length) setErrs(left);
      },
      { defer: true },
    ),
  );
  const failed = (e: unknown) => {
    if (e instanceof ApiError && e.details?.length) {
      submitted = JSON.parse(JSON.stringify(toPayload(unwrap(form))));
      // Paths as the form names its fields: the request's own validation prefixes them with `form.`.
      setErrs(Object.fromEntries(e.details.map((d) => [d.path.replace(/^form\./, '') || 'form', d.message])));
      notify('err', bt.send.fixErrors);
      // The submit button is at the form's foot; the first problem may be far above it, out of sight.
      requestAnimationFrame(() => formEl.querySelector('.field-error')?.scrollIntoView({ block: 'center' }));
    } else notifyError(e);
  };
  const submit = async () => {
    setBusy(true);
    setErrs({});
    try {
      const r = await post<{ id: string }>('/api/bigdata/tasks', {
        form: toPayload(unwrap(form)),
        fastPath: fastPathAllowed() && fastPath() ? true : undefined,
        draftId: draftId ?? undefined,
        copiedFrom: fromTask ?? undefined,
      });
      notify('ok', bt.send.submitted);
      navigate(`/bigdata/tasks?open=${r.id}`);
    } catch (e) {
      failed(e);
    } finally {
      setBusy(false);
    }
  };
  const saveDraft = async () => {
    setBusy(true);
    try {
      const body = { form: toPayload(unwrap(form)) };
      if (draftId) await put(`/api/bigdata/drafts/${draftId}`, body);
      else {
        const r = await post<{ id: string }>('/api/bigdata/drafts', body);
        history.replaceState(null, '', `/bigdata/send?draft=${r.id}`);
      }
      notify('ok', bt.send.draftSaved);
    } catch (e) {
      failed(e);
    } finally {
      setBusy(false);
    }
  };
  const reset = async () => {
    if (!(await askConfirm(bt.send.confirmReset))) return;
    const o = opts();
    setForm(reconcile(emptyForm(o?.today ?? '', o?.signatures.find((s) => s.isDefault)?.text ?? '')));
    map?.clearShapes();
    setErrs({});
  };

  return (
    <div class="bd-send">
      {/* noValidate: the server's message beside each field, all at once, not the browser's bubble on the first bad one. */}
      <form ref={formEl} class="bd-form card" noValidate onSubmit={(e) => (e.preventDefault(), void submit())}>
        <h2>{bt.send.title}</h2>
        <label class="field">
          <span>
            {bt.send.alertType}
            <em>*</em>
          </span>
          <select
            name="alertType"
            value={form.alertType}
            onChange={(e) => {
              const v = e.currentTarget.value;
              const tpl = opts()?.alertTypes.find((a) => a.value === v)?.template;
              setForm('alertType', v);
              if (tpl && !form.content.trim()) setForm('content', tpl);
            }}
          >
            <option value="">{bt.send.pickType}</option>
            <For each={opts()?.alertTypes}>{(a) => <option value={a.value}>{a.label}</option>}</For>
          </select>
          <FieldError errs={errs()} at="alertType" />
        </label>

        <fieldset class="field">
          <legend>
            {bt.send.region}
            <em>*</em>
          </legend>
          <span class="sub">{bt.send.adminRegion}</span>
          <AreaPicker value={form.areas} onChange={(v) => setForm('areas', v)} />
          <span class="sub">{bt.send.customRegion}</span>
          <p class="muted small">
            {bt.send.shapes(form.drawn.length)}
            <Show when={form.imported.length}> · {bt.send.imported(form.imported.length)}</Show>
          </p>
          <FieldError errs={errs()} at="region" />
        </fieldset>

        <label class="field">
          <span>
            {bt.send.subject}
            <em>*</em> <small class="muted">{bt.send.subjectHint}</small>
          </span>
          <input name="subject" maxLength={100} value={form.subject} onInput={(e) => setForm('subject', e.currentTarget.value)} />
          <FieldError errs={errs()} at="subject" />
        </label>
        <label class="field">
          <span>
            {bt.send.content}
            <em>*</em>
          </span>
          <textarea
            name="content"
            rows={4}
            maxLength={2000}
            value={form.content}
            onInput={(e) => setForm('content', e.currentTarget.value)}
          />
          <small class="muted" data-testid="counts">
            {(() => {
              const c = count();
              return c ? (c.ok ? bt.send.counts(c.chars, c.segments, c.tasks) : c.reason) : '';
            })()}
          </small>
          <FieldError errs={errs()} at="content" />
        </label>
        <label class="field">
          <span>{bt.send.english}</span>
          <textarea
            name="english"
            rows={3}
            maxLength={2000}
            lang="en"
            value={form.english}
            onInput={(e) => setForm('english', e.currentTarget.value)}
          />
          <small class="muted" data-testid="english-counts">
            {(() => {
              const c = englishCount();
              return c ? (c.ok ? bt.send.englishCounts(c.chars, c.segments) : c.reason) : bt.send.englishHint;
            })()}
          </small>
          <FieldError errs={errs()} at="texts.0.content" />
          <Show when={englishPromptMissing()}>
            <p class="field-warning small" data-testid="english-checkin-missing">
              {bt.send.checkInEnglish.missing(englishPrompt())}{' '}
              <button type="button" class="link" data-action="english-checkin-prompt" onClick={addEnglishPrompt}>
                {bt.send.checkInEnglish.add}
              </button>
            </p>
          </Show>
        </label>
        <label class="field check" data-testid="exercise">
          <span>
            <input type="checkbox" name="exercise" checked={form.exercise} onChange={(e) => setForm('exercise', e.currentTarget.checked)} />{' '}
            {bt.send.exercise}
          </span>
          <small class="muted">{bt.send.exerciseHint}</small>
          <FieldError errs={errs()} at="exercise" />
        </label>
        <CheckInField
          value={form.checkIn}
          onChange={(v) => setForm('checkIn', v)}
          onPrompt={(p) => {
            setForm('content', form.content + p);
            addEnglishPrompt();
          }}
        />
        <FieldError errs={errs()} at="checkIn" />
        <HysteresisField value={form.hysteresis} onChange={(v) => setForm('hysteresis', v)} error={errorsAt(errs(), 'hysteresis')} />
        <Show when={fastPathAllowed()}>
          <label class="field check" data-testid="fast-path">
            <span>
              <input type="checkbox" name="fastPath" checked={fastPath()} onChange={(e) => setFastPath(e.currentTarget.checked)} />{' '}
              {bt.send.fastPath}
            </span>
            <small class="muted">{bt.send.fastPathHint}</small>
            <FieldError errs={errs()} at="fastPath" />
          </label>
        </Show>
        <label class="field">
          <span>
            {bt.send.signature}
            <em>*</em>
          </span>
          <select name="signature" value={form.signature} onChange={(e) => setForm('signature', e.currentTarget.value)}>
            <option value="">{bt.send.pickSignature}</option>
            <For each={opts()?.signatures}>{(s) => <option value={s.text}>{bt.send.signatureOption(s.text)}</option>}</For>
          </select>
          <Show when={opts() && !opts()!.signatures.length}>
            <small class="error">{bt.send.noSignature}</small>
          </Show>
          <FieldError errs={errs()} at="signature" />
        </label>

        <ScheduleFields form={form} setForm={setForm} errs={errs()} />

        <CrowdRules form={form} setForm={setForm} errs={errs()} />

        <QuotaFields form={form} setForm={setForm} errs={errs()} balance={opts()?.balance ?? 0} />

        <label class="field">
          <span>
            {bt.send.letter}
            <em>*</em>
          </span>
          <input
            type="file"
            name="letter"
            accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"
            onChange={(e) => e.currentTarget.files?.[0] && void uploadLetter(e.currentTarget.files[0])}
          />
          <small class="muted">{form.letter ? `✓ ${form.letter.name}` : bt.send.uploadLetter}</small>
          <FieldError errs={errs()} at="authorizationLetter" />
        </label>

        <div class="form-actions">
          <button type="button" onClick={reset} disabled={busy()}>
            {bt.send.reset}
          </button>
          <button type="button" onClick={() => void saveDraft()} disabled={busy()}>
            {bt.send.saveDraft}
          </button>
          <button type="submit" class="primary" disabled={busy()}>
            {bt.send.submit}
          </button>
        </div>
      </form>

      <div class="bd-map-wrap">
        <MapToolbar
          map={() => map}
          onImport={(parts) => setForm('imported', [...form.imported, ...parts])}
          onClear={() => setForm('imported', [])}
        />
        <div class="bd-map" ref={mapEl} data-testid="send-map" />
        {/* Below the map, side by side: over it they hid its lower right and each other (#23). */}
        <div class="bd-panels">
          <ReachPanel reach={reach()} />
          <WhatIfPanel form={() => toPayload(unwrap(form))} hasRegion={() => regionParts(form).length > 0} onFormErrors={failed} />
        </div>
      </div>
    </div>
  );
}
