// Forgotten password: a code sent by email (com.atproto.server.requestPasswordReset), then the
// code and a new password (resetPassword). Also used, signed in, to change one's password.

import { html, useState } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { procedure } from '../lib/xrpc.js';
import { session } from '../lib/auth.js';
import { navigate } from '../lib/router.js';
import { toast } from '../lib/state.js';
import { ViewHeader, Field, errorText, useTitle } from '../components/ui.js';

export default function ResetPassword() {
  useTitle(t('reset.title'));
  const [email, setEmail] = useState((session.value && session.value.email) || '');
  const [sent, setSent] = useState(false);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const request = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await procedure('com.atproto.server.requestPasswordReset', { email: email.trim() }, { anonymous: true });
      setSent(true);
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  const reset = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await procedure('com.atproto.server.resetPassword', { token: code.trim(), password }, { anonymous: true });
      toast(t('reset.done'));
      navigate(session.value ? '/settings/account' : '/signin', { replace: true });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<div>
    <${ViewHeader} title=${t('reset.title')} back />
    ${!sent
      ? html`<form class="form-page" onSubmit=${request}>
          <p class="lead">${t('reset.lead')}</p>
          <${Field} id="reset-email" label=${t('reset.email')}>
            <input id="reset-email" type="email" required autocomplete="email" value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />
          </${Field}>
          ${error && html`<p class="field-error" role="alert">${error}</p>`}
          <button type="submit" class="button big wide" disabled=${busy}>${t('reset.send')}</button>
          <p class="form-links"><button type="button" class="link-button" onClick=${() => setSent(true)}>${t('reset.haveCode')}</button></p>
        </form>`
      : html`<form class="form-page" onSubmit=${reset}>
          <p class="lead">${t('reset.sent', { email: email || t('reset.yourEmail') })}</p>
          <${Field} id="reset-code" label=${t('reset.code')}>
            <input id="reset-code" type="text" required autocomplete="one-time-code" autocapitalize="off" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
          </${Field}>
          <${Field} id="reset-password" label=${t('reset.newPassword')}>
            <input id="reset-password" type="password" required minlength="8" autocomplete="new-password" value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
          </${Field}>
          ${error && html`<p class="field-error" role="alert">${error}</p>`}
          <button type="submit" class="button big wide" disabled=${busy}>${t('reset.submit')}</button>
        </form>`}
  </div>`;
}
