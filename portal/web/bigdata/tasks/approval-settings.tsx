import { createResource, createSignal, For, Show } from 'solid-js';
import { get, put } from '../../lib/api.ts';
import { Modal, notify, notifyError } from '../../ui/ui.tsx';
import { bt } from '../zh-CN.ts';

/** `GET/PUT /api/bigdata/approval/settings` (#21). */
export interface ApprovalSettings {
  required: boolean;
  fastPathTypes: string[];
}

/**
 * 审批设置 (an enterprise admin's, from the task list's toolbar): whether tasks wait for approval,
 * and which alert types may be sent at once and approved afterwards (先发后审).
 */
export function ApprovalSettingsDialog(props: { alertTypes: { value: string; label: string }[]; onClose: () => void }) {
  const [current] = createResource(() => get<ApprovalSettings>('/api/bigdata/approval/settings'));
  const [required, setRequired] = createSignal<boolean>();
  const [types, setTypes] = createSignal<string[]>();
  const [busy, setBusy] = createSignal(false);
  const isRequired = () => required() ?? current()?.required ?? false;
  const chosen = () => types() ?? current()?.fastPathTypes ?? [];
  const toggle = (t: string, on: boolean) => setTypes(on ? [...new Set([...chosen(), t])] : chosen().filter((x) => x !== t));
  const save = async () => {
    setBusy(true);
    try {
      await put('/api/bigdata/approval/settings', { required: isRequired(), fastPathTypes: chosen() });
      notify('ok', bt.tasks.approval.saved);
      props.onClose();
    } catch (e) {
      notifyError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={bt.tasks.approval.settings} onClose={props.onClose}>
      <form class="bd-form" data-testid="approval-settings" onSubmit={(e) => (e.preventDefault(), void save())}>
        <Show when={current()}>
          <label class="field check">
            <span>
              <input type="checkbox" name="required" checked={isRequired()} onChange={(e) => setRequired(e.currentTarget.checked)} />{' '}
              {bt.tasks.approval.required}
            </span>
            <small class="muted">{bt.tasks.approval.requiredHint}</small>
          </label>
          <fieldset class="field" disabled={!isRequired()}>
            <legend>{bt.tasks.approval.fastPathTypes}</legend>
            <For each={props.alertTypes}>
              {(t) => (
                <label class="check">
                  <input
                    type="checkbox"
                    name="fastPathTypes"
                    value={t.value}
                    checked={chosen().includes(t.value)}
                    onChange={(e) => toggle(t.value, e.currentTarget.checked)}
                  />{' '}
                  {t.label}
                </label>
              )}
            </For>
            <small class="muted">{bt.tasks.approval.fastPathTypesHint}</small>
          </fieldset>
          <footer class="dialog-actions">
            <button type="button" class="secondary" onClick={props.onClose}>
              {bt.tasks.approval.cancel}
            </button>
            <button type="submit" class="primary" disabled={busy()}>
              {bt.tasks.approval.save}
            </button>
          </footer>
        </Show>
      </form>
    </Modal>
  );
}
