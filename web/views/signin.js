// Signing in with a handle (or email) and a password or app password
// (com.atproto.server.createSession). A bare name gets this server's handle domain added, and an
// account with email 2FA is asked for the code it was sent.

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { signIn } from '../lib/auth.js';
import { query } from '../lib/xrpc.js';
import { navigate } from '../lib/router.js';
import { ViewHeader, Field, errorText, useTitle } from '../components/ui.js';

/** "alice" → "alice.example.com" when the server has one handle domain; handles and emails as typed. */
export function completeHandle(input, domains) {
  const value = input.trim().replace(/^@/, '');
  if (!value || value.includes('@') || value.includes('.') || value.startsWith('did:')) return value;
  return domains && domains.length ? `${value}${domains[0]}` : value;
}

export default function SignIn({ query: search }) {
  useTitle(t('signin.title'));
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
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
      await signIn(completeHandle(identifier, domains), password, needsCode ? code.trim() : undefined);
      const next = search.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (err) {
      if (err.error === 'AuthFactorTokenRequired') setNeedsCode(true);
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<div>
    <${ViewHeader} title=${t('signin.title')} />
    <form class="form-page" onSubmit=${submit}>
      <p class="lead">${t('signin.lead')}</p>
      <${Field} id="signin-identifier" label=${t('signin.identifier')} hint=${domains[0] ? t('signin.identifierHint', { example: `alice${domains[0]}` }) : null}>
        <input id="signin-identifier" type="text" autocomplete="username" autocapitalize="off" spellcheck="false" required
          aria-describedby=${domains[0] ? 'signin-identifier-hint' : undefined} value=${identifier} onInput=${(e) => setIdentifier(e.currentTarget.value)} />
      </${Field}>
      <${Field} id="signin-password" label=${t('signin.password')}>
        <input id="signin-password" type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      </${Field}>
      ${needsCode && html`<${Field} id="signin-code" label=${t('signin.code')} hint=${t('signin.codeHint')}>
        <input id="signin-code" type="text" autocomplete="one-time-code" required aria-describedby="signin-code-hint" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
      </${Field}>`}
      ${error && html`<p class="field-error" role="alert">${error}</p>`}
      <button type="submit" class="button big wide" disabled=${busy}>${busy ? t('signin.busy') : t('signin.submit')}</button>
      <p class="form-links">
        <a href="/reset-password">${t('signin.forgot')}</a>
        <a href="/signup">${t('signin.noAccount')}</a>
      </p>
    </form>
  </div>`;
}
