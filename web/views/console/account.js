// One account: who it is, its state (and why, and until when), what the admin can do about it
// (suspend for some days or take down with a reason the member reads, restore, reset the
// password, stop its invites, delete it), the reports about it and the admin actions taken on it.
// Calls: blue.skyhold.admin.getAccount / suspendAccount, com.atproto.admin.updateSubjectStatus /
// updateAccountPassword / disableAccountInvites / enableAccountInvites / deleteAccount.

import { html, useState } from '../../lib/html.js';
import { t, locale } from '../../lib/i18n.js';
import { query, procedure } from '../../lib/xrpc.js';
import { openDialog, toast } from '../../lib/state.js';
import { navigate } from '../../lib/router.js';
import { fullTime } from '../../lib/time.js';
import { Dialog, ConfirmDialog } from '../../components/dialog.js';
import { errorText } from '../../components/ui.js';
import { ConsoleFrame, useLoad, LoadState, StatusPill, When, CopyButton, randomPassword, who } from '../../components/console.js';
import { reasonName } from './reports.js';
import { describeAction } from './audit.js';

const SUSPEND_DAYS = [1, 3, 7, 30, 90, 365];

function useAction(reload) {
  const [busy, setBusy] = useState(false);
  const run = async (fn, done) => {
    setBusy(true);
    try {
      await fn();
      if (done) toast(done);
      reload();
    } catch (err) {
      toast(errorText(err), { kind: 'error' });
    }
    setBusy(false);
  };
  return { busy, run };
}

/** Suspend or take down, with the reason the member reads when signing in. */
function Moderate({ account, reload }) {
  const [reason, setReason] = useState('');
  const [days, setDays] = useState(7);
  const { busy, run } = useAction(reload);
  const restricted = account.status === 'suspended' || account.status === 'takendown';
  const repo = { $type: 'com.atproto.admin.defs#repoRef', did: account.did };
  const suspend = () =>
    run(() => procedure('blue.skyhold.admin.suspendAccount', { account: account.did, days: Number(days), reason: reason.trim() || undefined }), t('console.account.suspended', { handle: account.handle }));
  const takedown = async () => {
    const yes = await openDialog(ConfirmDialog, { title: t('console.account.takedownTitle', { handle: account.handle }), message: t('console.account.takedownExplain'), confirmLabel: t('console.account.takedown'), danger: true });
    if (yes) run(() => procedure('com.atproto.admin.updateSubjectStatus', { subject: repo, takedown: { applied: true, ref: reason.trim() || undefined } }), t('console.account.takenDown', { handle: account.handle }));
  };
  const restore = () => run(() => procedure('com.atproto.admin.updateSubjectStatus', { subject: repo, takedown: { applied: false } }), t('console.account.restored', { handle: account.handle }));
  if (restricted) {
    return html`<section class="card" aria-labelledby="moderate-title">
      <h2 id="moderate-title">${account.status === 'suspended' ? t('console.account.isSuspended') : t('console.account.isTakenDown')}</h2>
      ${account.suspendedUntil && html`<p>${t('console.account.until')} <${When} date=${account.suspendedUntil} /></p>`}
      ${account.takedownRef && html`<p>${t('console.account.reasonShown')} “${account.takedownRef}”</p>`}
      <button type="button" class="button" disabled=${busy} onClick=${restore}>${account.status === 'suspended' ? t('console.account.liftSuspension') : t('console.account.restore')}</button>
    </section>`;
  }
  return html`<section class="card" aria-labelledby="moderate-title">
    <h2 id="moderate-title">${t('console.account.moderate')}</h2>
    <p class="muted small">${t('console.account.moderateExplain')}</p>
    <div class="field">
      <label for="moderate-reason">${t('console.account.reason')}</label>
      <textarea id="moderate-reason" rows="2" maxlength="2000" aria-describedby="moderate-reason-hint" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea>
      <p class="hint" id="moderate-reason-hint">${t('console.account.reasonHint')}</p>
    </div>
    <div class="inline-fields">
      <div class="field">
        <label for="moderate-days">${t('console.account.duration')}</label>
        <select id="moderate-days" value=${days} onChange=${(e) => setDays(e.currentTarget.value)}>
          ${SUSPEND_DAYS.map((d) => html`<option value=${d}>${t('console.days', { count: d })}</option>`)}
        </select>
      </div>
      <button type="button" class="button" disabled=${busy} onClick=${suspend}>${t('console.account.suspend')}</button>
    </div>
    <button type="button" class="button secondary danger-text" disabled=${busy} onClick=${takedown}>${t('console.account.takedownForGood')}</button>
  </section>`;
}

function ResetPassword({ account }) {
  const [password, setPassword] = useState(null);
  const [busy, setBusy] = useState(false);
  const reset = async () => {
    const yes = await openDialog(ConfirmDialog, { title: t('console.account.resetTitle', { handle: account.handle }), message: t('console.account.resetExplain'), confirmLabel: t('console.account.reset') });
    if (!yes) return;
    setBusy(true);
    const fresh = randomPassword();
    try {
      await procedure('com.atproto.admin.updateAccountPassword', { did: account.did, password: fresh });
      setPassword(fresh);
    } catch (err) {
      toast(errorText(err), { kind: 'error' });
    }
    setBusy(false);
  };
  return html`<section class="card" aria-labelledby="reset-title">
    <h2 id="reset-title">${t('console.account.password')}</h2>
    ${password
      ? html`<p>${t('console.account.newPassword')}</p>
        <p class="secret"><code aria-label=${t('console.account.newPasswordLabel')}>${password}</code></p>
        <${CopyButton} text=${password} />`
      : html`<p class="muted small">${t('console.account.passwordExplain')}</p>
        <button type="button" class="button secondary" disabled=${busy} onClick=${reset}>${t('console.account.reset')}</button>`}
  </section>`;
}

/** Deleting asks for the handle, typed: there is no undo. */
function DeleteDialog({ account, close }) {
  const [typed, setTyped] = useState('');
  return html`<${Dialog} title=${t('console.account.deleteTitle', { handle: account.handle })} close=${() => close(false)}>
    <p>${t('console.account.deleteExplain')}</p>
    <div class="field">
      <label for="delete-confirm">${t('console.account.deleteType', { handle: account.handle })}</label>
      <input id="delete-confirm" type="text" autocapitalize="off" spellcheck="false" value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} />
    </div>
    <div class="dialog-actions">
      <button type="button" class="button secondary" onClick=${() => close(false)}>${t('common.cancel')}</button>
      <button type="button" class="button danger" disabled=${typed.trim().replace(/^@/, '') !== account.handle} onClick=${() => close(true)}>${t('console.account.delete')}</button>
    </div>
  </${Dialog}>`;
}

function More({ account, reload }) {
  const { busy, run } = useAction(reload);
  const invites = () =>
    run(
      () => procedure(account.invitesDisabled ? 'com.atproto.admin.enableAccountInvites' : 'com.atproto.admin.disableAccountInvites', { account: account.did }),
      account.invitesDisabled ? t('console.account.invitesOn') : t('console.account.invitesOff'),
    );
  const remove = async () => {
    const yes = await openDialog(DeleteDialog, { account });
    if (!yes) return;
    try {
      await procedure('com.atproto.admin.deleteAccount', { did: account.did });
      toast(t('console.account.deleted', { handle: account.handle }));
      navigate('/console/accounts', { replace: true });
    } catch (err) {
      toast(errorText(err), { kind: 'error' });
    }
  };
  return html`<section class="card" aria-labelledby="more-title">
    <h2 id="more-title">${t('console.account.more')}</h2>
    <div class="list-row">
      <span>${account.invitesDisabled ? t('console.account.invitesDisabled') : t('console.account.invitesEnabled')}</span>
      <button type="button" class="button secondary small" disabled=${busy} onClick=${invites}>${account.invitesDisabled ? t('console.account.allowInvites') : t('console.account.stopInvites')}</button>
    </div>
    <div class="list-row">
      <span>${t('console.account.deleteText')}</span>
      <button type="button" class="button danger small" onClick=${remove}>${t('console.account.delete')}</button>
    </div>
  </section>`;
}

function Account({ did }) {
  const load = useLoad(() => query('blue.skyhold.admin.getAccount', { did }), [did]);
  const waiting = LoadState(load);
  if (waiting) return waiting;
  const a = load.data;
  return html`<div class="console-grid">
    <section class="card span-all" aria-labelledby="who-title">
      <h2 id="who-title" class="account-title">@${a.handle} <${StatusPill} status=${a.status} /> ${a.admin && html`<span class="pill">${t('console.accounts.admin')}</span>`}</h2>
      <dl class="facts">
        <dt>${t('console.account.did')}</dt><dd class="mono">${a.did}</dd>
        <dt>${t('console.account.email')}</dt><dd>${a.email || '–'} ${a.email && html`<span class=${a.emailConfirmedAt ? 'pill ok' : 'pill'}>${a.emailConfirmedAt ? t('console.account.confirmed') : t('console.account.unconfirmed')}</span>`}</dd>
        <dt>${t('console.account.joined')}</dt><dd>${fullTime(a.createdAt, locale)}</dd>
        ${a.inviteCode && html`<dt>${t('console.account.invitedWith')}</dt><dd><span class="mono">${a.inviteCode}</span>${a.invitedBy && html` · ${t('console.account.invitedBy', { who: who(a.invitedBy, { [a.invitedBy]: a.invitedByHandle }) })}`}</dd>`}
        ${a.deactivatedAt && html`<dt>${t('console.account.deactivatedAt')}</dt><dd>${fullTime(a.deactivatedAt, locale)}</dd>`}
      </dl>
      ${a.status === 'active' && html`<p><a href=${`/profile/${encodeURIComponent(a.handle)}`}>${t('console.account.viewProfile')}</a></p>`}
    </section>
    <${Moderate} account=${a} reload=${load.reload} />
    <${ResetPassword} account=${a} />
    <${More} account=${a} reload=${load.reload} />
    <section class="card" aria-labelledby="account-reports-title">
      <h2 id="account-reports-title">${t('console.account.reports')}</h2>
      ${a.openReports.length === 0
        ? html`<p class="muted">${t('console.account.noReports')}</p>`
        : html`<ul class="plain-list">${a.openReports.map((r) => html`<li class="list-row"><span>${t(`console.reports.reason.${reasonName(r.reasonType)}`)}${r.reason ? `: ${r.reason}` : ''}</span><a href="/console/reports">${t('console.account.toInbox')}</a></li>`)}</ul>`}
    </section>
    <section class="card span-all" aria-labelledby="account-history-title">
      <h2 id="account-history-title">${t('console.account.history')}</h2>
      ${a.audit.length === 0
        ? html`<p class="muted">${t('console.account.noHistory')}</p>`
        : html`<ul class="plain-list">${a.audit.map((e) => html`<li class="list-row"><span>${describeAction(e, { [a.did]: a.handle })}${e.detail ? html` <span class="muted">— ${e.detail}</span>` : ''}</span><span class="muted small">${fullTime(e.at, locale)}</span></li>`)}</ul>`}
    </section>
  </div>`;
}

export default function ConsoleAccount({ params }) {
  return html`<${ConsoleFrame} title=${t('console.account.title')} back><${Account} did=${params.did} /></${ConsoleFrame}>`;
}
