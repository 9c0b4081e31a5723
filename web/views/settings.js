// Settings: where the account pages are, and signing out.

import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { session, signOut } from '../lib/auth.js';
import { navigate } from '../lib/router.js';
import { me, isAdmin } from '../lib/state.js';
import { config } from '../lib/config.js';
import { ViewHeader, Avatar, displayName, useTitle } from '../components/ui.js';
import { Icon } from '../components/icons.js';

function Row({ href, icon, title, text }) {
  return html`<li><a class="settings-row" href=${href}>
    <span class="settings-icon"><${Icon} name=${icon} /></span>
    <span class="settings-text"><span class="settings-title">${title}</span><span class="muted small">${text}</span></span>
    <${Icon} name="chevron" size=${18} />
  </a></li>`;
}

export default function Settings() {
  useTitle(t('settings.title'));
  const s = session.value;
  const out = async () => {
    await signOut();
    navigate('/', { replace: true });
  };
  return html`<div>
    <${ViewHeader} title=${t('settings.title')} />
    <div class="settings-me">
      <${Avatar} actor=${me.value || s} size=${48} />
      <div><p class="display-name">${displayName(me.value || s)}</p><p class="handle">@${s.handle}</p></div>
    </div>
    <ul class="settings-list">
      ${isAdmin.value && html`<${Row} href="/console" icon="shield" title=${t('settings.console')} text=${t('settings.consoleText')} />`}
      <${Row} href="/settings/account" icon="user" title=${t('settings.account')} text=${t('settings.accountText')} />
      <${Row} href="/settings/connected-apps" icon="link" title=${t('settings.connectedApps')} text=${t('settings.connectedAppsText')} />
      <${Row} href="/settings/app-passwords" icon="key" title=${t('settings.appPasswords')} text=${t('settings.appPasswordsText')} />
      <${Row} href="/moderation" icon="shield" title=${t('settings.moderation')} text=${t('settings.moderationText')} />
      <${Row} href="/settings/notifications" icon="bell" title=${t('settings.notifications')} text=${t('settings.notificationsText')} />
      <${Row} href="/saved" icon="bookmark" title=${t('settings.saved')} text=${t('settings.savedText')} />
      <${Row} href="/settings/recovery-key" icon="key" title=${t('settings.recoveryKey')} text=${t('settings.recoveryKeyText')} />
      <${Row} href="/settings/backup" icon="download" title=${t('settings.backup')} text=${t('settings.backupText')} />
      <${Row} href="/settings/move-out" icon="globe" title=${t('settings.moveOut')} text=${t('settings.moveOutText')} />
    </ul>
    <div class="settings-footer">
      <button type="button" class="button secondary wide" onClick=${out}><${Icon} name="signout" /> ${t('settings.signOut')}</button>
      <p class="muted small">${t('side.version', { version: config.version })}</p>
    </div>
  </div>`;
}
