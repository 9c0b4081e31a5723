// App passwords: for signing in to other apps without giving them the account password
// (com.atproto.server.createAppPassword / listAppPasswords / revokeAppPassword). A new password is
// shown once.

import { html, useState, useEffect } from '../lib/html.js';
import { t, locale } from '../lib/i18n.js';
import { query, procedure } from '../lib/xrpc.js';
import { openDialog, toast } from '../lib/state.js';
import { fullTime } from '../lib/time.js';
import { ViewHeader, Field, Loading, ErrorNotice, Empty, errorText, useTitle } from '../components/ui.js';
import { ConfirmDialog } from '../components/dialog.js';

export default function AppPasswords() {
  useTitle(t('appPasswords.title'));
  const [list, setList] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [name, setName] = useState('');
  const [privileged, setPrivileged] = useState(false);
  const [created, setCreated] = useState(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const load = () => {
    setLoadError(null);
    query('com.atproto.server.listAppPasswords').then((r) => setList(r.passwords || []), setLoadError);
  };
  useEffect(load, []);
  const create = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const r = await procedure('com.atproto.server.createAppPassword', { name: name.trim(), privileged });
      setCreated(r);
      setName('');
      setPrivileged(false);
      load();
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  const revoke = async (item) => {
    const yes = await openDialog(ConfirmDialog, { title: t('appPasswords.revokeTitle', { name: item.name }), message: t('appPasswords.revokeExplain'), confirmLabel: t('appPasswords.revoke'), danger: true });
    if (!yes) return;
    try {
      await procedure('com.atproto.server.revokeAppPassword', { name: item.name });
      toast(t('appPasswords.revoked', { name: item.name }));
      if (created && created.name === item.name) setCreated(null);
      load();
    } catch (err) {
      toast(errorText(err), { kind: 'error' });
    }
  };
  return html`<div>
    <${ViewHeader} title=${t('appPasswords.title')} back />
    <div class="page-body">
      <p class="lead">${t('appPasswords.lead')}</p>
      ${created && html`<section class="card highlight" aria-labelledby="new-app-password">
        <h2 id="new-app-password">${t('appPasswords.createdTitle', { name: created.name })}</h2>
        <p>${t('appPasswords.createdText')}</p>
        <p class="secret" aria-label=${t('appPasswords.password')}><code>${created.password}</code></p>
        <button type="button" class="button secondary small" onClick=${() => navigator.clipboard.writeText(created.password).then(() => toast(t('appPasswords.copied')))}>${t('appPasswords.copy')}</button>
      </section>`}
      <form class="card" onSubmit=${create}>
        <h2>${t('appPasswords.new')}</h2>
        <${Field} id="app-password-name" label=${t('appPasswords.name')} hint=${t('appPasswords.nameHint')}>
          <input id="app-password-name" type="text" required maxlength="32" aria-describedby="app-password-name-hint" value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
        </${Field}>
        <label class="checkbox"><input type="checkbox" checked=${privileged} onChange=${(e) => setPrivileged(e.currentTarget.checked)} /> ${t('appPasswords.privileged')}</label>
        ${error && html`<p class="field-error" role="alert">${error}</p>`}
        <button type="submit" class="button" disabled=${busy || !name.trim()}>${t('appPasswords.create')}</button>
      </form>
      <section aria-labelledby="app-password-list">
        <h2 id="app-password-list">${t('appPasswords.yours')}</h2>
        ${loadError ? html`<${ErrorNotice} error=${loadError} onRetry=${load} />`
          : !list ? html`<${Loading} />`
          : list.length === 0 ? html`<${Empty} title=${t('appPasswords.none')} />`
          : html`<ul class="plain-list">${list.map((item) => html`<li class="list-row">
              <div><p class="strong">${item.name}</p><p class="muted small">${t('appPasswords.createdAt', { date: fullTime(item.createdAt, locale) })}${item.privileged ? ` · ${t('appPasswords.privilegedShort')}` : ''}</p></div>
              <button type="button" class="button secondary small danger-text" aria-label=${t('appPasswords.revokeName', { name: item.name })} onClick=${() => revoke(item)}>${t('appPasswords.revoke')}</button>
            </li>`)}</ul>`}
      </section>
    </div>
  </div>`;
}
