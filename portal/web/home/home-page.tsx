import { createResource, Show } from 'solid-js';
import { get } from '../lib/api.ts';
import { t } from '../i18n/zh-CN.ts';
import { Page } from '../ui/ui.tsx';
import { LedgerCard } from './ledger-card.tsx';
import { TrendChart, type TrendPoint } from './trend-chart.tsx';
import { th } from './zh-CN.ts';

interface Quota {
  myQuota: number | null;
  enterpriseQuota: number;
  available: number;
  reserved: number;
  enterpriseName: string;
  accessNumber: string;
}
interface Trends {
  daily: TrendPoint[];
  monthly: TrendPoint[];
  source: 'clickhouse' | 'unavailable';
  note?: string;
}

/** 首页: my quota, the enterprise's quota, what I may send now, the send trends and the ledger behind the balances. */
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
        <div class="card">
          <h2>{th.available}</h2>
          <div class="stat" data-testid="available">
            {quota()?.available.toLocaleString('zh-CN') ?? '…'}
          </div>
          <Show when={(quota()?.reserved ?? 0) > 0}>
            <div class="muted small" data-testid="reserved">
              {th.reserved(quota()!.reserved.toLocaleString('zh-CN'))}
            </div>
          </Show>
        </div>
      </div>
      <Show when={trends()?.source === 'unavailable'}>
        <p class="muted small" data-testid="trend-note">
          {t.fmt.labelled(t.home.noLog, trends()?.note ?? '')}
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
      <LedgerCard />
    </Page>
  );
}
