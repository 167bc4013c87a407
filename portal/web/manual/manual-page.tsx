import { For } from 'solid-js';
import { t } from '../i18n/zh-CN.ts';
import { Page } from '../ui/ui.tsx';
import manual from './manual-zh.md?raw';

/** The product manual, bundled with the app (offline), as headed paragraphs. */
export function ManualView() {
  const blocks = manual
    .replace(/^#.*\n/, '')
    .split(/\n{2,}/)
    .map((b) => b.trim())
    .filter((b) => b && b !== '翼讯通\n让信息飞起来' && b !== '让信息飞起来');
  return (
    <div class="card manual" data-testid="manual">
      <For each={blocks}>{(b) => (/^行业短信-|^大数据/.test(b) && b.length < 20 ? <h3>{b}</h3> : <p>{b}</p>)}</For>
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
