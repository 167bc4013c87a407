import { Page } from '../ui/ui.tsx';
import { t } from '../i18n/zh-CN.ts';

export function HomePage() {
  return (
    <Page title={t.menu.home}>
      <p>{t.app.loading}</p>
    </Page>
  );
}
