// Invites people can use: create a link (/invite/CODE fills in the sign-up form) for one or more
// people, see who joined with each, and disable a code that leaked
// (com.atproto.server.createInviteCodes, com.atproto.admin.getInviteCodes / disableInviteCodes /
// getAccountInfos for the names of who used them).

import { html, useState } from '../../lib/html.js';
import { t, locale } from '../../lib/i18n.js';
import { query, procedure } from '../../lib/xrpc.js';
import { config } from '../../lib/config.js';
import { openDialog, toast } from '../../lib/state.js';
import { fullTime } from '../../lib/time.js';
import { ConfirmDialog } from '../../components/dialog.js';
import { Empty, errorText } from '../../components/ui.js';
import { ConsoleFrame, useLoad, LoadState, CopyButton, who } from '../../components/console.js';

export function inviteLink(code) {
  return `${config.publicUrl}/invite/${code}`;
}

function Create({ onCreated }) {
  const [uses, setUses] = useState(1);
  const [created, setCreated] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const answer = await procedure('com.atproto.server.createInviteCodes', { codeCount: 1, useCount: Number(uses) });
      setCreated(answer.codes[0].codes[0]);
      onCreated();
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  return html`<section class="card" aria-labelledby="new-invite-title">
    <h2 id="new-invite-title">${t('console.invites.new')}</h2>
    <p class="muted small">${t('console.invites.explain')}</p>
    <form class="inline-fields" onSubmit=${submit}>
      <div class="field">
        <label for="invite-uses">${t('console.invites.uses')}</label>
        <input id="invite-uses" type="number" min="1" max="100" required value=${uses} onInput=${(e) => setUses(e.currentTarget.value)} />
      </div>
      <button type="submit" class="button" disabled=${busy}>${t('console.invites.create')}</button>
    </form>
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
    ${created && html`<div class="created-invite" role="status">
      <p class="strong">${t('console.invites.ready')}</p>
      <p class="secret"><code aria-label=${t('console.invites.linkLabel')}>${inviteLink(created)}</code></p>
      <${CopyButton} text=${inviteLink(created)} label=${t('console.invites.copyLink')} />
    </div>`}
  </section>`;
}

function List({ version }) {
  const load = useLoad(async () => {
    const { codes } = await query('com.atproto.admin.getInviteCodes', { sort: 'recent', limit: 100 });
    const dids = [...new Set(codes.flatMap((c) => (c.uses || []).map((u) => u.usedBy)).concat(codes.map((c) => c.createdBy)).filter((d) => d && d.startsWith('did:')))];
    const handles = {};
    if (dids.length) {
      const { infos } = await query('com.atproto.admin.getAccountInfos', { dids });
      for (const info of infos || []) handles[info.did] = info.handle;
    }
    return { codes, handles };
  }, [version]);
  const disable = async (code) => {
    const yes = await openDialog(ConfirmDialog, { title: t('console.invites.disableTitle'), message: t('console.invites.disableExplain', { code: code.code }), confirmLabel: t('console.invites.disable'), danger: true });
    if (!yes) return;
    try {
      await procedure('com.atproto.admin.disableInviteCodes', { codes: [code.code] });
      toast(t('console.invites.disabled'));
      load.reload();
    } catch (err) {
      toast(errorText(err), { kind: 'error' });
    }
  };
  const waiting = LoadState(load);
  if (waiting) return waiting;
  const { codes, handles } = load.data;
  if (codes.length === 0) return html`<${Empty} title=${t('console.invites.none')} />`;
  return html`<ul class="plain-list invite-list" aria-label=${t('console.invites.listLabel')}>
    ${codes.map((c) => {
      const used = (c.uses || []).length;
      const left = Math.max(0, c.available);
      return html`<li key=${c.code} class="invite">
        <div class="invite-main">
          <p><span class="mono strong">${c.code}</span> ${c.disabled ? html`<span class="pill">${t('console.invites.off')}</span>` : left === 0 ? html`<span class="pill">${t('console.invites.usedUp')}</span>` : html`<span class="pill ok">${t('console.invites.left', { count: left })}</span>`}</p>
          <p class="muted small">${t('console.invites.madeBy', { who: c.createdBy === 'admin' ? t('console.adminPassword') : who(c.createdBy, handles), date: fullTime(c.createdAt, locale) })}</p>
          ${used > 0 && html`<p class="small">${t('console.invites.joined')} ${(c.uses || []).map((u, i) => html`${i ? ', ' : ''}<a href=${`/console/accounts/${encodeURIComponent(u.usedBy)}`}>${who(u.usedBy, handles)}</a>`)}</p>`}
        </div>
        ${!c.disabled && left > 0 && html`<div class="invite-actions">
          <${CopyButton} text=${inviteLink(c.code)} label=${t('console.invites.copyLink')} />
          <button type="button" class="button secondary small danger-text" aria-label=${t('console.invites.disableCode', { code: c.code })} onClick=${() => disable(c)}>${t('console.invites.disable')}</button>
        </div>`}
      </li>`;
    })}
  </ul>`;
}

export default function ConsoleInvites() {
  const [version, setVersion] = useState(0);
  return html`<${ConsoleFrame} title=${t('console.nav.invites')}>
    <${Create} onCreated=${() => setVersion(version + 1)} />
    <h2 class="section-title">${t('console.invites.all')}</h2>
    <${List} version=${version} />
  </${ConsoleFrame}>`;
}
