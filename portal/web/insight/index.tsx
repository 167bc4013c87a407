import { Match, Switch, type Component } from 'solid-js';
import { Link, path } from '../lib/router.tsx';
import { BigScreen } from './big-screen.tsx';
import { HeatmapPage } from './heatmap-page.tsx';
import { bt } from '../bigdata/zh-CN.ts';
import '../bigdata/bigdata.css';

/** 大数据洞察: 热力图 and 可视化大屏 (the big screen covers the whole window). */
export function InsightPage() {
  return (
    <Switch>
      <Match when={path().startsWith('/insight/screen')}>
        <BigScreen />
      </Match>
      <Match when={true}>
        <div class="bd-shell">
          <nav class="bd-menu" aria-label={bt.menu.insight}>
            <Link href="/insight">{bt.menu.heatmap}</Link>
            <Link href="/insight/screen">{bt.menu.bigScreen}</Link>
          </nav>
          <div class="bd-page">
            <HeatmapPage />
          </div>
        </div>
      </Match>
    </Switch>
  );
}

/** Routes for the SPA (`ROUTES` in web/routes.tsx). */
export const INSIGHT_PAGES: { path: string; component: Component; label: string; features: string[] }[] = [
  { path: '/insight', component: InsightPage, label: bt.menu.insight, features: ['insight'] },
];

export { HeatmapPage, BigScreen };
