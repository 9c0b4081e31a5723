// Modal dialogs on the native <dialog> element: showModal() makes the rest of the page inert and
// traps focus, Escape closes, and focus goes back to what opened it. Opened through
// `openDialog` (lib/state.js); the host renders the stack.

import { html, useEffect, useRef, useId, useState } from '../lib/html.js';
import { dialogs } from '../lib/state.js';
import { t } from '../lib/i18n.js';
import { Icon } from './icons.js';

/** A dialog with a title (its accessible name) and a close button. */
export function Dialog({ title, close, children, wide = false, className = '', hideTitle = false }) {
  const ref = useRef(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    };
  }, []);
  const onCancel = (e) => {
    e.preventDefault();
    close();
  };
  // A click on the backdrop (the dialog element itself, outside its content) closes it.
  const onClick = (e) => {
    if (e.target === ref.current) close();
  };
  return html`<dialog ref=${ref} class=${`dialog ${wide ? 'wide' : ''} ${className}`} aria-labelledby=${`${id}-title`} onCancel=${onCancel} onClick=${onClick}>
    <div class="dialog-body">
      <div class="dialog-header">
        <h2 id=${`${id}-title`} class=${hideTitle ? 'visually-hidden' : 'dialog-title'}>${title}</h2>
        <button type="button" class="icon-button" aria-label=${t('common.close')} onClick=${() => close()}><${Icon} name="close" /></button>
      </div>
      ${children}
    </div>
  </dialog>`;
}

/** Renders every open dialog. */
export function DialogHost() {
  return html`${dialogs.value.map((d) => html`<${d.component} key=${d.id} ...${d.props} close=${d.close} />`)}`;
}

/** A yes/no question; resolves true when confirmed. */
export function ConfirmDialog({ title, message, confirmLabel, danger = false, close }) {
  return html`<${Dialog} title=${title} close=${() => close(false)}>
    <p>${message}</p>
    <div class="dialog-actions">
      <button type="button" class="button secondary" onClick=${() => close(false)}>${t('common.cancel')}</button>
      <button type="button" class=${danger ? 'button danger' : 'button'} onClick=${() => close(true)} autofocus>${confirmLabel}</button>
    </div>
  </${Dialog}>`;
}

/**
 * Asks for the account's password again before a call no app permission covers (docs/OAUTH.md,
 * "The built-in web UI"). `confirm(password)` lets the node check it; resolves true once it did.
 */
export function PasswordDialog({ confirm, close }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await confirm(password);
      close(true);
    } catch (err) {
      setError(err && err.error === 'AuthenticationRequired' ? t('password.wrong') : t('password.failed'));
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${t('password.title')} close=${() => close(false)}>
    <form onSubmit=${submit}>
      <p class="dialog-lead">${t('password.why')}</p>
      <div class="field">
        <label for="confirm-password">${t('password.label')}</label>
        <input id="confirm-password" type="password" required autocomplete="current-password" autofocus value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      </div>
      ${error && html`<p class="field-error" role="alert">${error}</p>`}
      <div class="dialog-actions">
        <button type="button" class="button secondary" onClick=${() => close(false)}>${t('common.cancel')}</button>
        <button type="submit" class="button" disabled=${busy}>${t('password.confirm')}</button>
      </div>
    </form>
  </${Dialog}>`;
}
