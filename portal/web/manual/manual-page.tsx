import { For, Match, Switch } from 'solid-js';
import { t } from '../i18n/zh-CN.ts';
import { Page } from '../ui/ui.tsx';
import { parseManual, type Figure, type Heading, type List, type ManualBlock } from './manual-blocks.ts';
import manual from './manual-zh.md?raw';

/** The screenshots (taken by `e2e/manual-shots.int.test.ts`), bundled with the app: file name → address. */
const IMAGES = Object.fromEntries(
  Object.entries(import.meta.glob('./img/*.{png,jpg}', { eager: true, query: '?url', import: 'default' })).map(([path, url]) => [
    path.slice('./img/'.length),
    url,
  ]),
);

/** The product manual, bundled with the app (offline): contents, then the sections. */
export function ManualView() {
  const blocks = parseManual(manual);
  const sections = blocks.filter((b): b is Heading => b.kind === 'h2');
  const go = (id: string) => document.getElementById(id)?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  return (
    <div class="card manual" data-testid="manual">
      <nav class="manual-toc" aria-label={t.manual.contents}>
        <strong>{t.manual.contents}</strong>
        <ol>
          <For each={sections}>
            {(s) => (
              <li>
                <a href={`#${s.id}`} onClick={(e) => (e.preventDefault(), go(s.id))}>
                  {s.text}
                </a>
              </li>
            )}
          </For>
        </ol>
      </nav>
      <For each={blocks}>
        {(b) => (
          <Switch>
            <Match when={b.kind === 'h1' && (b as Heading)}>{(h) => <h2 id={h().id}>{h().text}</h2>}</Match>
            <Match when={b.kind === 'h2' && (b as Heading)}>{(h) => <h3 id={h().id}>{h().text}</h3>}</Match>
            <Match when={b.kind === 'h3' && (b as Heading)}>{(h) => <h4 id={h().id}>{h().text}</h4>}</Match>
            <Match when={b.kind === 'ul' && (b as List)}>
              {(l) => (
                <ul>
                  <For each={l().items}>{(i) => <li>{i}</li>}</For>
                </ul>
              )}
            </Match>
            <Match when={b.kind === 'ol' && (b as List)}>
              {(l) => (
                <ol>
                  <For each={l().items}>{(i) => <li>{i}</li>}</For>
                </ol>
              )}
            </Match>
            <Match when={b.kind === 'img' && (b as Figure)}>
              {(f) => (
                <figure class="manual-figure" data-file={f().file}>
                  <img src={IMAGES[f().file]} alt={f().caption} loading="lazy" />
                  <figcaption>{f().caption}</figcaption>
                </figure>
              )}
            </Match>
            <Match when={b.kind === 'p' && (b as Extract<ManualBlock, { kind: 'p' }>)}>{(p) => <p>{p().text}</p>}</Match>
          </Switch>
        )}
      </For>
    </div>
  );
}

export function ManualPage() {
  return (
    <Page title={t.menu.manual}>
      <ManualView />
    </Page>
  );
}
