import { createResource, Show } from 'solid-js';
import { get } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Page } from '../ui/ui.tsx';
import { TrendChart, type TrendPoint } from './trend-chart.tsx';

interface Quota {
  myQuota: number | null;
  enterpriseQuota: number;
  enterpriseName: string;
  accessNumber: string;
}
interface Trends {
  daily: TrendPoint[];
  monthly: TrendPoint[];
  source: 'clickhouse' | 'unavailable';
  note?: string;
}

/** 首页: my quota, the enterprise's quota, a 30-day and a 12-month send trend. */
export function HomePage() {
  const [quota] = createResource(() => get<Quota>('/api/home/quota'));
  const [trends] = createResource(() => get<Trends>('/api/home/trends'));
  return (
    <Page title={t.menu.home}>
      <div class="cards">
        <div class="card">
          <h2>{t.home.myQuota}</h2>
          <div class="stat" data-testid="my-quota">
            {quota() ? (quota()!.myQuota === null ? t.home.unlimited : quota()!.myQuota!.toLocaleString('zh-CN')) : '…'}
          </div>
        </div>
        <div class="card">
          <h2>{t.home.entQuota}</h2>
          <div class="stat" data-testid="ent-quota">
            {quota()?.enterpriseQuota.toLocaleString('zh-CN') ?? '…'}
          </div>
          <div class="muted small">{quota()?.enterpriseName}</div>
        </div>
      </div>
      <Show when={trends()?.source === 'unavailable'}>
        <p class="muted small" data-testid="trend-note">
          {t.home.noLog}：{trends()?.note}
        </p>
      </Show>
      <div class="card">
        <h2>{t.home.daily}</h2>
        <TrendChart points={trends()?.daily ?? []} testId="daily-trend" />
      </div>
      <div class="card">
        <h2>{t.home.monthly}</h2>
        <TrendChart points={trends()?.monthly ?? []} testId="monthly-trend" />
      </div>
    </Page>
  );
}
