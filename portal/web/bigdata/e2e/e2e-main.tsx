import { Match, onMount, Switch } from 'solid-js';
import { render } from 'solid-js/web';
import { path } from '../../lib/router.tsx';
import { me, refreshMe } from '../../lib/session.ts';
import { Toast } from '../../ui/ui.tsx';
import { BigdataPage } from '../index.tsx';
import { InsightPage } from '../../insight/index.tsx';
import { MapBench } from '../../map/map-bench.tsx';
import '../../layout/app.css';

/**
 * Test-only entry for the browser test: the console's pages without the portal shell, so that the
 * test does not depend on the SPA's route table (which the portal core owns). `/map-bench` is the
 * map alone, for the console-map benchmark.
 */
function E2E() {
  onMount(() => void refreshMe());
  return (
    <>
      <Switch fallback={<p>loading</p>}>
        <Match when={me() === null}>
          <p id="logged-out">not logged in</p>
        </Match>
        <Match when={me() && path().startsWith('/map-bench')}>
          <MapBench />
        </Match>
        <Match when={me() && path().startsWith('/bigdata')}>
          <main class="content">
            <BigdataPage />
          </main>
        </Match>
        <Match when={me() && path().startsWith('/insight')}>
          <main class="content">
            <InsightPage />
          </main>
        </Match>
      </Switch>
      <Toast />
    </>
  );
}

render(() => <E2E />, document.getElementById('app')!);
