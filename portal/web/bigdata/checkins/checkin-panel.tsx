import { cellToLatLng } from 'h3-js';
import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { ApiError, get, post } from '../../lib/api.ts';
import { can } from '../../lib/session.ts';
import { Badge, notify, notifyError, Pager } from '../../ui/ui.tsx';
import { askConfirm } from '../../ui/dialog.tsx';
import { GeoMap } from '../../map/index.ts';
import { ct } from './zh-CN.ts';

interface Released {
  value: number | null;
  suppressed: boolean;
}
export interface CheckInSummary {
  taskId: string;
  extension: string;
  open: boolean;
  /** False while the task has sent nothing (waiting for approval, scheduled, paused, rejected). */
  started: boolean;
  closesAt: string;
  k: number;
  replies: number;
  people: number;
  options: { code: string; label: string; help: boolean; people: number }[];
  unrecognised: number;
  areaPending: number;
  areaUnknown: number;
  h3Res: number;
  /** Each hexagon with the district (else city) its centre lies in. */
  areas: { h3: string; areaName: string | null; answers: Record<string, Released> }[];
  updatedAt: string;
}
interface HelpPerson {
  msisdn: string;
  carrierLabel: string;
  answer: string;
  label: string;
  text: string;
  at: string;
  h3: string | null;
  areaName: string | null;
  lat: number | null;
  lng: number | null;
}

/** How often the panel asks again while the check-in takes answers. */
const POLL_MS = 3000;
const PAGE_SIZE = 20;

/**
 * 回复报平安 in a task's detail (#21): answers per option, in total and per area on a map of H3
 * hexagons (one answer or all), and the help list (numbers masked, exportable), polled live while
 * the check-in is open. Renders nothing for a task without a check-in.
 * @example <CheckInPanel taskId={id} />
 */
export function CheckInPanel(props: { taskId: string }) {
  const [summary, setSummary] = createSignal<CheckInSummary | null>(null);
  const [help, setHelp] = createSignal<{ total: number; items: HelpPerson[] } | null>(null);
  const [page, setPage] = createSignal(1);
  const [shown, setShown] = createSignal<string>('');
  let mapEl: HTMLDivElement | undefined;
  let map: GeoMap | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let centred = false;

  const drawAreas = () => {
    const s = summary();
    if (!map || !s) return;
    const key = shown();
    map.setHexagons(
      s.areas.map((a) => {
        const vals = key ? [a.answers[key]] : Object.values(a.answers);
        const known = vals.filter((v): v is Released => !!v && !v.suppressed && v.value !== null);
        return { h3: a.h3, count: known.length ? known.reduce((n, v) => n + v.value!, 0) : null };
      }),
    );
    // The areas' numbers, as the table lists them.
    const centres = s.areas.map((a) => cellToLatLng(a.h3));
    map.setMarks(centres.map(([lat, lng], i) => ({ position: [lng, lat], text: String(i + 1) })));
    if (!centred && centres.length) {
      centred = true;
      const lats = centres.map((c) => c[0]),
        lngs = centres.map((c) => c[1]);
      if (centres.length === 1) map.map.jumpTo({ center: [lngs[0]!, lats[0]!], zoom: 11 });
      else map.fitBounds([Math.min(...lngs), Math.min(...lats), Math.max(...lngs), Math.max(...lats)]);
    }
  };

  const load = async () => {
    try {
      const s = await get<CheckInSummary>(`/api/bigdata/tasks/${props.taskId}/checkin`);
      setSummary(s);
      setHelp(
        await get<{ total: number; items: HelpPerson[] }>(
          `/api/bigdata/tasks/${props.taskId}/checkin/help?page=${page()}&pageSize=${PAGE_SIZE}`,
        ),
      );
      if (!map && mapEl) {
        map = new GeoMap(mapEl, { zoom: 9 });
        map.on('ready', drawAreas);
      }
      drawAreas();
      if (!s.open && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    } catch (e) {
      // No check-in on this task: nothing to show.
      if (e instanceof ApiError && e.status === 404) {
        if (timer) clearInterval(timer);
        timer = undefined;
        return;
      }
      throw e;
    }
  };
  onMount(() => {
    void load().catch(() => undefined);
    timer = setInterval(() => void load().catch(() => undefined), POLL_MS);
  });
  onCleanup(() => {
    if (timer) clearInterval(timer);
    map?.destroy();
  });

  const close = async () => {
    if (!(await askConfirm(ct.closeConfirm, { danger: true, okLabel: ct.close }))) return;
    try {
      await post(`/api/bigdata/tasks/${props.taskId}/checkin/close`);
      notify('ok', ct.closedOk);
      await load();
    } catch (e) {
      notifyError(e);
    }
  };
  const where = (p: HelpPerson) =>
    [p.areaName, p.lat !== null && p.lng !== null ? `${p.lat.toFixed(4)}, ${p.lng.toFixed(4)}` : null].filter(Boolean).join(' ') || '—';
  const released = (r: Released | undefined, k: number) => (!r || r.suppressed || r.value === null ? ct.underK(k) : String(r.value));

  return (
    <Show when={summary()}>
      {(s) => (
        <section class="bd-checkin" data-testid="checkin-panel">
          <h3>
            {ct.title}{' '}
            <Badge kind={s().started && s().open ? 'ok' : 'muted'}>{!s().started ? ct.notStarted : s().open ? ct.open : ct.closed}</Badge>
          </h3>
          <p class="muted small">
            {ct.extension(s().extension)} · {ct.closesAt(s().closesAt)} · {ct.replies(s().replies, s().people)} ·{' '}
            {ct.updated(s().updatedAt)}
          </p>
          <table class="grid" data-testid="checkin-counts">
            <thead>
              <tr>
                <th>{ct.answer}</th>
                <th>{ct.people}</th>
              </tr>
            </thead>
            <tbody>
              <For each={s().options}>
                {(o) => (
                  <tr data-answer={o.code}>
                    <td>
                      {o.code} {o.label} <Show when={o.help}>{<Badge kind="err">{ct.help}</Badge>}</Show>
                    </td>
                    <td>
                      <b>{o.people}</b>
                    </td>
                  </tr>
                )}
              </For>
              <tr data-answer="unrecognised">
                <td>{ct.unrecognised}</td>
                <td>{s().unrecognised}</td>
              </tr>
            </tbody>
          </table>
          <Show when={s().areaPending || s().areaUnknown}>
            <p class="muted small">{ct.areaNote(s().areaPending, s().areaUnknown)}</p>
          </Show>
          <h4>{ct.areas}</h4>
          <label class="small">
            {ct.showAnswer}{' '}
            <select value={shown()} onChange={(e) => (setShown(e.currentTarget.value), drawAreas())} data-testid="checkin-answer-select">
              <option value="">{ct.allAnswers}</option>
              <For each={s().options}>{(o) => <option value={o.code}>{`${o.code} ${o.label}`}</option>}</For>
              <option value="unrecognised">{ct.unrecognised}</option>
            </select>
          </label>
          <div class="bd-detail-map" ref={mapEl} data-testid="checkin-map" />
          <table class="grid small" data-testid="checkin-areas">
            <thead>
              <tr>
                <th>{ct.areaColumn}</th>
                <For each={s().options}>{(o) => <th>{o.label}</th>}</For>
                <th>{ct.unrecognised}</th>
              </tr>
            </thead>
            <tbody>
              <For each={s().areas}>
                {(a, i) => (
                  <tr data-h3={a.h3}>
                    <td>{ct.area(i() + 1, a.areaName)}</td>
                    <For each={s().options}>{(o) => <td>{released(a.answers[o.code], s().k)}</td>}</For>
                    <td>{released(a.answers.unrecognised, s().k)}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
          <p class="muted small">{ct.privacy(s().k)}</p>
          <h4>
            {ct.helpList} <span class="muted small">{ct.helpTotal(help()?.total ?? 0)}</span>{' '}
            <a
              class="button"
              href={`/api/bigdata/tasks/${props.taskId}/checkin/help/export`}
              download={ct.exportFile}
              data-testid="checkin-export"
            >
              {ct.export}
            </a>
          </h4>
          <table class="grid" data-testid="checkin-help">
            <thead>
              <tr>
                <th>{ct.msisdn}</th>
                <th>{ct.carrier}</th>
                <th>{ct.answer}</th>
                <th>{ct.text}</th>
                <th>{ct.at}</th>
                <th>{ct.where}</th>
              </tr>
            </thead>
            <tbody>
              <For
                each={help()?.items ?? []}
                fallback={
                  <tr>
                    <td colSpan={6} class="muted">
                      {ct.noHelp}
                    </td>
                  </tr>
                }
              >
                {(p) => (
                  <tr>
                    <td>{p.msisdn}</td>
                    <td>{p.carrierLabel}</td>
                    <td>{p.label}</td>
                    <td>{p.text}</td>
                    <td>{p.at}</td>
                    <td>{where(p)}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
          <Pager page={page()} pageSize={PAGE_SIZE} total={help()?.total ?? 0} onPage={(n) => (setPage(n), void load())} />
          <Show when={s().started && s().open && can('bigdata.tasks')}>
            <button type="button" class="danger" data-action="close-checkin" onClick={() => void close()}>
              {ct.close}
            </button>
          </Show>
        </section>
      )}
    </Show>
  );
}
