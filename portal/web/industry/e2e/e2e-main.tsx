import { Match, onMount, Switch } from 'solid-js';
import { render } from 'solid-js/web';
import { me, refreshMe } from '../../lib/session.ts';
import { Toast } from '../../ui/ui.tsx';
import { IndustryShell } from '../index.tsx';
import '../../layout/app.css';

/**
 * Test-only entry for the browser test: the 行业短信 module (its own left menu and pages) without
 * the portal shell, so that the test does not depend on the SPA's route table (the portal core's).
 */
function E2E() {
  onMount(() => void refreshMe());
  return (
    <>
      <Switch fallback={<p>loading</p>}>
        <Match when={me() === null}>
          <p id="logged-out">not logged in</p>
        </Match>
        <Match when={me()}>
          <main class="content">
            <IndustryShell />
          </main>
        </Match>
      </Switch>
      <Toast />
    </>
  );
}

render(() => <E2E />, document.getElementById('app')!);
