// Which notifications to get, per kind: from everyone or only from people one follows, and
// whether they show in the list at all (app.bsky.notification.getPreferences / putPreferencesV2;
// the node applies them to the list and the unread count). There are no push notifications here,
// so `push` is left as it is.

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query, procedure } from '../lib/xrpc.js';
import { toast } from '../lib/state.js';
import { ViewHeader, Loading, ErrorNotice, errorText, useTitle } from '../components/ui.js';

const KINDS = ['reply', 'mention', 'quote', 'like', 'repost', 'follow', 'likeViaRepost', 'repostViaRepost'];

function Row({ kind, pref, onChange, busy }) {
  const id = `notif-${kind}`;
  return html`<fieldset class="pref-row">
    <legend>${t(`notificationSettings.kind.${kind}`)}</legend>
    <label class="checkbox"><input type="checkbox" checked=${pref.list !== false} disabled=${busy}
      onChange=${(e) => onChange({ ...pref, list: e.currentTarget.checked })} /> ${t('notificationSettings.inList')}</label>
    <div class="pref-from">
      <label for=${id}>${t('notificationSettings.from')}</label>
      <select id=${id} value=${pref.include === 'follows' ? 'follows' : 'all'} disabled=${busy || pref.list === false}
        onChange=${(e) => onChange({ ...pref, include: e.currentTarget.value })}>
        <option value="all">${t('notificationSettings.everyone')}</option>
        <option value="follows">${t('notificationSettings.follows')}</option>
      </select>
    </div>
  </fieldset>`;
}

export default function NotificationSettings() {
  useTitle(t('notificationSettings.title'));
  const [prefs, setPrefs] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const load = () => {
    setError(null);
    query('app.bsky.notification.getPreferences').then((r) => setPrefs(r.preferences || {}), setError);
  };
  useEffect(load, []);
  const change = async (kind, pref) => {
    const previous = prefs;
    setPrefs({ ...prefs, [kind]: pref });
    setBusy(true);
    try {
      const r = await procedure('app.bsky.notification.putPreferencesV2', { [kind]: { include: pref.include || 'all', list: pref.list !== false, push: pref.push !== false } });
      if (r && r.preferences) setPrefs(r.preferences);
      toast(t('notificationSettings.saved'));
    } catch (err) {
      setPrefs(previous);
      toast(errorText(err), { kind: 'error' });
    }
    setBusy(false);
  };
  let body;
  if (error) body = html`<${ErrorNotice} error=${error} onRetry=${load} />`;
  else if (!prefs) body = html`<${Loading} />`;
  else {
    body = html`<div class="page-body">
      <p class="lead">${t('notificationSettings.lead')}</p>
      <div class="card">${KINDS.map((kind) => html`<${Row} kind=${kind} pref=${prefs[kind] || {}} busy=${busy} onChange=${(p) => change(kind, p)} />`)}</div>
    </div>`;
  }
  return html`<div><${ViewHeader} title=${t('notificationSettings.title')} back />${body}</div>`;
}
