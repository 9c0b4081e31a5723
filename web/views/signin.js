// Signing in: the UI is an OAuth app of this same server, so the password is typed on the
// server's own sign-in page (/oauth/authorize), never here. This page only asks who is signing
// in, to fill in that page's handle (a bare name gets this server's handle domain added), then
// sends the browser there; /signin/callback brings it back signed in.

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { signIn } from '../lib/auth.js';
import { query } from '../lib/xrpc.js';
import { ViewHeader, Field, errorText, useTitle } from '../components/ui.js';

/** "alice" → "alice.example.com" when the server has one handle domain; handles and emails as typed. */
export function completeHandle(input, domains) {
  const value = input.trim().replace(/^@/, '');
  if (!value || value.includes('@') || value.includes('.') || value.startsWith('did:')) return value;
  return domains && domains.length ? `${value}${domains[0]}` : value;
}

/** Where to go after signing in: a path on this site, never another one. */
export function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin') ? next : '/';
}

export default function SignIn({ query: search }) {
  useTitle(t('signin.title'));
  const [identifier, setIdentifier] = useState(search.get('handle') || '');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [domains, setDomains] = useState([]);
  useEffect(() => {
    query('com.atproto.server.describeServer', {}, { anonymous: true }).then((d) => setDomains(d.availableUserDomains || []), () => {});
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      // The browser leaves for the server's sign-in page.
      await signIn({ loginHint: completeHandle(identifier, domains) || undefined, next: safeNext(search.get('next')) });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<div>
    <${ViewHeader} title=${t('signin.title')} />
    <form class="form-page" onSubmit=${submit}>
      <p class="lead">${t('signin.lead')}</p>
      <${Field} id="signin-identifier" label=${t('signin.identifier')} hint=${domains[0] ? t('signin.identifierHint', { example: `alice${domains[0]}` }) : null}>
        <input id="signin-identifier" type="text" autocomplete="username" autocapitalize="off" spellcheck="false"
          aria-describedby=${domains[0] ? 'signin-identifier-hint' : undefined} value=${identifier} onInput=${(e) => setIdentifier(e.currentTarget.value)} />
      </${Field}>
      <p class="muted">${t('signin.onServerPage')}</p>
      ${error && html`<p class="field-error" role="alert">${error}</p>`}
      <button type="submit" class="button big wide" disabled=${busy}>${busy ? t('signin.busy') : t('signin.submit')}</button>
      <p class="form-links">
        <a href="/reset-password">${t('signin.forgot')}</a>
        <a href="/signup">${t('signin.noAccount')}</a>
      </p>
    </form>
  </div>`;
}
