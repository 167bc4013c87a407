import { createSignal, Match, onMount, Switch } from 'solid-js';
import { render } from 'solid-js/web';
import { me, refreshMe } from '../../../lib/session.ts';
import { Toast } from '../../../ui/ui.tsx';
import { CheckInPanel } from '../checkin-panel.tsx';
import { CheckInField, type CheckInValue } from '../checkin-field.tsx';
import '../../../layout/app.css';
import '../../bigdata.css';

/**
 * Test-only entry for the check-in browser test: the panel for `/checkin/<task id>` and the send
 * form's field at `/checkin-field` (its value shown as JSON), without the console's pages, which
 * mount them.
 */
function FieldPage() {
  const [value, setValue] = createSignal<CheckInValue>(undefined);
  const [content, setContent] = createSignal('');
  return (
    <>
      <CheckInField value={value()} onChange={setValue} onPrompt={(p) => setContent(content() + p)} />
      <pre data-testid="field-value">{JSON.stringify(value() ?? null)}</pre>
      <pre data-testid="field-content">{content()}</pre>
    </>
  );
}

function E2E() {
  onMount(() => void refreshMe());
  const at = location.pathname;
  return (
    <>
      <Switch fallback={<p>loading</p>}>
        <Match when={me() === null}>
          <p id="logged-out">not logged in</p>
        </Match>
        <Match when={me() && at.startsWith('/checkin/')}>
          <main class="content">
            <CheckInPanel taskId={decodeURIComponent(at.slice('/checkin/'.length))} />
          </main>
        </Match>
        <Match when={me() && at.startsWith('/checkin-field')}>
          <main class="content">
            <FieldPage />
          </main>
        </Match>
      </Switch>
      <Toast />
    </>
  );
}

render(() => <E2E />, document.getElementById('app')!);
