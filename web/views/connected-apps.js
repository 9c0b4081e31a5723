// Connected apps: the apps this account signed in to with OAuth ("Sign in with your handle"),
// what each may do, since when, and when it last got tokens; disconnecting one ends its
// sessions and tokens at once (blue.skyhold.oauth.listApps / revokeApp). An app's logo comes
// from this node (/oauth/client-logo fetches and checks it), never from the app's own site: this
// UI loads no other origin. An app without one (or whose logo the node refuses) shows its initial.

import { html, useState, useEffect } from '../lib/html.js';
import { t, locale } from '../lib/i18n.js';
import { query, procedure } from '../lib/xrpc.js';
import { openDialog, toast } from '../lib/state.js';
import { fullTime, relativeTime } from '../lib/time.js';
import { ViewHeader, Loading, ErrorNotice, Empty, errorText, useTitle } from '../components/ui.js';
import { ConfirmDialog } from '../components/dialog.js';
import { webClientId } from '../lib/oauth.js';

/** What a member recognises an app by: its name, else its site's host, else "an app on this computer". */
export function appName(app) {
  if (app.clientName) return app.clientName;
  if (app.loopback) return t('connectedApps.localApp');
  try {
    return new URL(app.clientId).host;
  } catch {
    return app.clientId;
  }
}

function appSite(app) {
  if (app.clientUri) return app.clientUri;
  return app.loopback ? t('connectedApps.localSite') : app.clientId;
}

/** The app's logo as this node serves it, or its initial when there is none to show. */
function AppTile({ app, name }) {
  const [failed, setFailed] = useState(false);
  if (app.logoUri && !failed) {
    const src = `/oauth/client-logo?client_id=${encodeURIComponent(app.clientId)}`;
    return html`<img class="app-tile" src=${src} alt="" width="44" height="44" loading="lazy" decoding="async" onError=${() => setFailed(true)} />`;
  }
  return html`<span class="app-tile" aria-hidden="true">${[...name][0]?.toUpperCase()}</span>`;
}

function AppRow({ app, onRevoke }) {
  const name = appName(app);
  const headingId = `app-${encodeURIComponent(app.clientId).replace(/%/g, '')}`;
  return html`<li class="card connected-app" aria-labelledby=${headingId}>
    <div class="connected-app-head">
      <${AppTile} app=${app} name=${name} />
      <div class="connected-app-name">
        <h3 id=${headingId}>${name}</h3>
        <p class="muted small break">${appSite(app)}</p>
      </div>
    </div>
    <p class="small">${t('connectedApps.mayDo')}</p>
    <ul class="permission-list small">${app.permissions.map((p) => html`<li>${p}</li>`)}</ul>
    <p class="muted small">
      ${t('connectedApps.since', { date: fullTime(app.createdAt, locale) })} · ${t('connectedApps.lastUsed', { when: relativeTime(app.lastUsedAt, Date.now(), locale, t('time.now')) })}
    </p>
    <button type="button" class="button secondary small danger-text" aria-label=${t('connectedApps.revokeName', { name })} onClick=${() => onRevoke(app, name)}>${t('connectedApps.revoke')}</button>
  </li>`;
}

export default function ConnectedApps() {
  useTitle(t('connectedApps.title'));
  const [apps, setApps] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const load = () => {
    setLoadError(null);
    // This web app is an OAuth app of the node too; signing out is how its sessions end.
    query('blue.skyhold.oauth.listApps').then((r) => setApps((r.apps || []).filter((a) => a.clientId !== webClientId)), setLoadError);
  };
  useEffect(load, []);
  const revoke = async (app, name) => {
    const yes = await openDialog(ConfirmDialog, { title: t('connectedApps.revokeTitle', { name }), message: t('connectedApps.revokeExplain'), confirmLabel: t('connectedApps.revoke'), danger: true });
    if (!yes) return;
    try {
      await procedure('blue.skyhold.oauth.revokeApp', { clientId: app.clientId });
      toast(t('connectedApps.revoked', { name }));
      load();
    } catch (err) {
      toast(errorText(err), { kind: 'error' });
    }
  };
  return html`<div>
    <${ViewHeader} title=${t('connectedApps.title')} back />
    <div class="page-body">
      <p class="lead">${t('connectedApps.lead')}</p>
      ${loadError ? html`<${ErrorNotice} error=${loadError} onRetry=${load} />`
        : !apps ? html`<${Loading} />`
        : apps.length === 0 ? html`<${Empty} title=${t('connectedApps.none')}><p class="muted">${t('connectedApps.noneText')}</p></${Empty}>`
        : html`<ul class="plain-list connected-apps">${apps.map((app) => html`<${AppRow} key=${app.clientId} app=${app} onRevoke=${revoke} />`)}</ul>`}
    </div>
  </div>`;
}
