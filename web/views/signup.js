// Creating an account on this server (com.atproto.server.createAccount). The invite field shows
// only when describeServer says codes are required; an invite link (/invite/CODE) fills it in.

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { createAccount, signIn } from '../lib/auth.js';
import { query } from '../lib/xrpc.js';
import { config } from '../lib/config.js';
import { ViewHeader, Field, Loading, ErrorNotice, errorText, useTitle } from '../components/ui.js';

/** The handle just created, for the welcome after the sign-in (signin-callback.js). */
export const WELCOME = 'skyhold.welcome';

/** Shortest password accepted here (the server decides too; this only saves a round trip). */
const MIN_PASSWORD = 8;

export default function SignUp({ params }) {
  useTitle(t('signup.title'));
  const [server, setServer] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [name, setName] = useState('');
  const [domain, setDomain] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [invite, setInvite] = useState(params.code || '');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const load = () =>
    query('com.atproto.server.describeServer', {}, { anonymous: true }).then((d) => {
      setServer(d);
      setDomain((d.availableUserDomains || [])[0] || '');
    }, setLoadError);
  useEffect(() => {
    load();
  }, []);
  if (loadError) return html`<div><${ViewHeader} title=${t('signup.title')} /><${ErrorNotice} error=${loadError} onRetry=${load} /></div>`;
  if (!server) return html`<div><${ViewHeader} title=${t('signup.title')} /><${Loading} /></div>`;
  const domains = server.availableUserDomains || [];
  const handle = `${name.trim().toLowerCase()}${domain}`;
  const submit = async (e) => {
    e.preventDefault();
    if (password.length < MIN_PASSWORD) {
      setError(t('signup.passwordShort', { min: MIN_PASSWORD }));
      return;
    }
    setBusy(true);
    setError('');
    try {
      await createAccount({ handle, email: email.trim(), password, inviteCode: server.inviteCodeRequired ? invite.trim() : undefined });
      // Then a sign-in on the server's page (the UI holds OAuth sessions only); the welcome
      // shows when the browser is back.
      sessionStorage.setItem(WELCOME, handle);
      await signIn({ loginHint: handle, next: '/' });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<div>
    <${ViewHeader} title=${t('signup.title')} />
    <form class="form-page" onSubmit=${submit}>
      <p class="lead">${t('signup.lead', { host: config.hostname })}</p>
      ${server.inviteCodeRequired && html`<${Field} id="signup-invite" label=${t('signup.invite')} hint=${t('signup.inviteHint')}>
        <input id="signup-invite" type="text" required autocapitalize="off" spellcheck="false" aria-describedby="signup-invite-hint" value=${invite} onInput=${(e) => setInvite(e.currentTarget.value)} />
      </${Field}>`}
      <div class="field">
        <label for="signup-handle">${t('signup.handle')}</label>
        <div class="handle-input">
          <input id="signup-handle" type="text" required autocapitalize="off" autocomplete="username" spellcheck="false" pattern="[a-zA-Z0-9]([a-zA-Z0-9]|-){2,17}" minlength="3" maxlength="18"
            aria-describedby="signup-handle-hint" value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
          ${domains.length > 1
            ? html`<label class="visually-hidden" for="signup-domain">${t('signup.domain')}</label><select id="signup-domain" value=${domain} onChange=${(e) => setDomain(e.currentTarget.value)}>${domains.map((d) => html`<option value=${d}>${d}</option>`)}</select>`
            : html`<span class="handle-suffix">${domain}</span>`}
        </div>
        <p class="hint" id="signup-handle-hint">${name.trim() ? t('signup.handlePreview', { handle: `@${handle}` }) : t('signup.handleHint')}</p>
      </div>
      <${Field} id="signup-email" label=${t('signup.email')} hint=${t('signup.emailHint')}>
        <input id="signup-email" type="email" required autocomplete="email" aria-describedby="signup-email-hint" value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />
      </${Field}>
      <${Field} id="signup-password" label=${t('signup.password')} hint=${t('signup.passwordHint', { min: MIN_PASSWORD })}>
        <input id="signup-password" type="password" required autocomplete="new-password" minlength=${MIN_PASSWORD} aria-describedby="signup-password-hint" value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      </${Field}>
      ${error && html`<p class="field-error" role="alert">${error}</p>`}
      <button type="submit" class="button big wide" disabled=${busy}>${busy ? t('signup.busy') : t('signup.submit')}</button>
      <p class="form-links"><a href="/signin">${t('signup.haveAccount')}</a></p>
    </form>
  </div>`;
}
