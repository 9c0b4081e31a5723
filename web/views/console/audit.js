// The audit log: every admin action, from this console or from the command line with the admin
// password, newest first (blue.skyhold.admin.getAuditLog). Nothing in it is ever edited.

import { html, useState } from '../../lib/html.js';
import { t, locale } from '../../lib/i18n.js';
import { query } from '../../lib/xrpc.js';
import { fullTime } from '../../lib/time.js';
import { Empty } from '../../components/ui.js';
import { ConsoleFrame, useLoad, LoadState, who } from '../../components/console.js';

/** Actions the log names, each with its sentence in the catalog (`console.action.<name>`). */
export const ACTIONS = [
  'account.takedown', 'account.restore', 'account.deactivate', 'account.activate', 'account.suspend', 'account.handle',
  'account.email', 'account.password', 'account.delete', 'account.invitesDisabled', 'account.invitesEnabled',
  'record.takedown', 'record.restore', 'blob.takedown', 'blob.restore', 'invite.create', 'invite.disable', 'report.resolve',
  'host.add', 'host.ban', 'host.unban', 'crawl.request', 'role.grant', 'role.revoke', 'email.test', 'backup',
];

/** What an entry's subject is, in words. */
function subjectText(subject, handles) {
  if (!subject) return '';
  if (subject.startsWith('at://')) return t('console.subject.post', { who: who(subject.split('/')[2], handles) });
  if (subject.startsWith('did:')) {
    const [did] = subject.split(' ');
    return who(did, handles);
  }
  return subject;
}

/** "@ana took down a post by @bo": an entry as a sentence. */
export function describeAction(entry, handles) {
  const values = { actor: who(entry.actor, handles), subject: subjectText(entry.subject, handles), action: entry.action };
  const text = ACTIONS.includes(entry.action) ? t(`console.action.${entry.action}`, values) : t('console.action.other', values);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function Log() {
  const [extra, setExtra] = useState({ entries: [], handles: {}, cursor: undefined });
  const load = useLoad(async () => {
    const page = await query('blue.skyhold.admin.getAuditLog', { limit: 50 });
    setExtra({ entries: [], handles: {}, cursor: page.cursor });
    return page;
  });
  const more = async () => {
    const page = await query('blue.skyhold.admin.getAuditLog', { limit: 50, cursor: extra.cursor });
    setExtra({ entries: [...extra.entries, ...page.entries], handles: { ...extra.handles, ...page.handles }, cursor: page.cursor });
  };
  const waiting = LoadState(load);
  if (waiting) return waiting;
  const entries = [...load.data.entries, ...extra.entries];
  const handles = { ...load.data.handles, ...extra.handles };
  if (entries.length === 0) return html`<${Empty} title=${t('console.audit.empty')} />`;
  return html`<div>
    <ol class="plain-list audit-list" aria-label=${t('console.audit.listLabel')}>
      ${entries.map((e) => html`<li key=${e.id} class="audit-entry">
        <p>${describeAction(e, handles)}</p>
        ${e.detail && html`<p class="muted small audit-detail">${e.detail}</p>`}
        <p class="muted small"><time datetime=${e.at}>${fullTime(e.at, locale)}</time></p>
      </li>`)}
    </ol>
    ${extra.cursor && html`<div class="list-end"><button type="button" class="button secondary" onClick=${more}>${t('feed.loadMore')}</button></div>`}
  </div>`;
}

export default function ConsoleAudit() {
  return html`<${ConsoleFrame} title=${t('console.nav.audit')}>
    <p class="muted console-lead">${t('console.audit.lead')}</p>
    <${Log} />
  </${ConsoleFrame}>`;
}
