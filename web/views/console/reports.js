// The reports inbox: what members reported with com.atproto.moderation.createReport, newest first,
// with the reported post's text or account, and the admin's decision: take the post down, take
// the account down, suspend it for some days, or dismiss (blue.skyhold.admin.resolveReport, which
// answers every open report about the same subject and writes the audit log).

import { html, useState } from '../../lib/html.js';
import { t, locale } from '../../lib/i18n.js';
import { query, procedure } from '../../lib/xrpc.js';
import { openDialog, toast } from '../../lib/state.js';
import { postPath } from '../../lib/router.js';
import { relativeTime, fullTime } from '../../lib/time.js';
import { Dialog } from '../../components/dialog.js';
import { Empty, errorText } from '../../components/ui.js';
import { ConsoleFrame, useLoad, LoadState, StatusPill } from '../../components/console.js';

const SUSPEND_DAYS = [1, 3, 7, 30, 90, 365];

/** Reason types the inbox names in words; others (Ozone's finer ones) count as "other". */
const REASONS = ['spam', 'violation', 'misleading', 'sexual', 'rude', 'appeal', 'other'];

/** The reason type's name ("com.atproto.moderation.defs#reasonSpam" → "spam"). */
export function reasonName(type) {
  const name = ((type || '').split('#')[1] || '').replace(/^reason/, '').toLowerCase();
  return REASONS.includes(name) ? name : 'other';
}

function Subject({ report }) {
  const view = report.subjectView || {};
  const record = report.subject.$type === 'com.atproto.repo.strongRef';
  const did = record ? report.subject.uri.split('/')[2] : report.subject.did;
  const account = view.handle ? html`<a href=${`/console/accounts/${encodeURIComponent(did)}`}>@${view.handle}</a>` : html`<span class="mono">${did}</span>`;
  if (!record) {
    return html`<div class="report-subject"><p>${t('console.reports.aboutAccount')} ${account} ${view.status && html`<${StatusPill} status=${view.status} />`}</p></div>`;
  }
  return html`<div class="report-subject">
    <p>${t('console.reports.aboutPost')} ${account} ${view.takenDown && html`<span class="pill warn">${t('console.reports.takenDown')}</span>`}</p>
    ${view.text != null
      ? html`<blockquote class="reported-text">${view.text || t('console.reports.noText')}</blockquote>`
      : html`<p class="muted small">${view.exists === false ? t('console.reports.deleted') : t('console.reports.elsewhere')}</p>`}
    ${view.handle && view.exists && !view.takenDown && html`<a class="small" href=${postPath(report.subject.uri, view.handle)}>${t('console.reports.openPost')}</a>`}
  </div>`;
}

/** The decision: one action, a reason the member sees (account actions), days for a suspension. */
function ResolveDialog({ report, close }) {
  const record = report.subject.$type === 'com.atproto.repo.strongRef';
  const local = report.subjectView && report.subjectView.local;
  const actions = [...(record && local ? ['takedownRecord'] : []), ...(local ? ['takedownAccount', 'suspendAccount'] : []), 'dismiss'];
  const [action, setAction] = useState(actions[0]);
  const [reason, setReason] = useState('');
  const [days, setDays] = useState(7);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const answer = await procedure('blue.skyhold.admin.resolveReport', { id: report.id, action, reason: reason.trim() || undefined, days: action === 'suspendAccount' ? Number(days) : undefined });
      close(answer);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${t('console.reports.resolveTitle')} close=${() => close(null)}>
    <form onSubmit=${submit}>
      <fieldset class="radio-list">
        <legend>${t('console.reports.whatToDo')}</legend>
        ${actions.map((a) => html`<label class="radio-option">
          <input type="radio" name="resolve-action" value=${a} checked=${action === a} onChange=${() => setAction(a)} />
          <span><strong>${t(`console.reports.action.${a}`)}</strong><span class="muted">${t(`console.reports.action.${a}.hint`)}</span></span>
        </label>`)}
      </fieldset>
      ${action === 'suspendAccount' && html`<div class="field">
        <label for="resolve-days">${t('console.reports.days')}</label>
        <select id="resolve-days" value=${days} onChange=${(e) => setDays(e.currentTarget.value)}>
          ${SUSPEND_DAYS.map((d) => html`<option value=${d}>${t('console.days', { count: d })}</option>`)}
        </select>
      </div>`}
      <div class="field">
        <label for="resolve-reason">${t('console.reports.reason')}</label>
        <textarea id="resolve-reason" rows="3" maxlength="2000" aria-describedby="resolve-reason-hint" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea>
        <p class="hint" id="resolve-reason-hint">${action === 'dismiss' || action === 'takedownRecord' ? t('console.reports.reasonNote') : t('console.reports.reasonShown')}</p>
      </div>
      ${error && html`<p class="field-error" role="alert">${error}</p>`}
      <div class="dialog-actions">
        <button type="button" class="button secondary" onClick=${() => close(null)}>${t('common.cancel')}</button>
        <button type="submit" class=${action === 'dismiss' ? 'button' : 'button danger'} disabled=${busy}>${t(`console.reports.confirm.${action}`)}</button>
      </div>
    </form>
  </${Dialog}>`;
}

function Report({ report, onResolved }) {
  const resolve = async () => {
    const answer = await openDialog(ResolveDialog, { report });
    if (!answer) return;
    toast(t('console.reports.resolved', { count: answer.resolved.length }));
    onResolved();
  };
  const open = report.state === 'open';
  return html`<li><article class="card report" aria-labelledby=${`report-${report.id}`}>
    <header class="report-head">
      <h2 id=${`report-${report.id}`} class="report-title">${t(`console.reports.reason.${reasonName(report.reasonType)}`)}</h2>
      <span class="muted small"><time datetime=${report.createdAt} title=${fullTime(report.createdAt, locale)}>${relativeTime(report.createdAt, Date.now(), locale, t('time.now'))}</time> · ${t('console.reports.by', { who: report.reportedByHandle ? `@${report.reportedByHandle}` : report.reportedBy })}</span>
    </header>
    ${report.reason && html`<p class="report-reason">${report.reason}</p>`}
    <${Subject} report=${report} />
    ${open
      ? html`<div class="button-row"><button type="button" class="button" onClick=${resolve}>${t('console.reports.decide')}</button></div>`
      : html`<p class="small resolution"><span class="pill ok">${t('console.reports.done')}</span> ${report.resolution || ''} <span class="muted">${report.resolvedAt && fullTime(report.resolvedAt, locale)}</span></p>`}
  </article></li>`;
}

function Inbox({ state }) {
  const [pages, setPages] = useState(1);
  const [cursors, setCursors] = useState([]);
  const load = useLoad(async () => {
    let items = [];
    let cursor;
    for (let i = 0; i < pages; i++) {
      const page = await query('blue.skyhold.admin.listReports', { state, limit: 25, cursor });
      items = items.concat(page.reports || []);
      cursor = page.cursor;
      if (!cursor) break;
    }
    setCursors(cursor ? [cursor] : []);
    return items;
  }, [state, pages]);
  const waiting = LoadState(load);
  if (waiting) return waiting;
  if (load.data.length === 0) return html`<${Empty} title=${state === 'open' ? t('console.reports.emptyOpen') : t('console.reports.emptyResolved')} />`;
  return html`<div>
    <ul class="plain-list report-list" aria-label=${t('console.reports.listLabel')}>${load.data.map((r) => html`<${Report} key=${r.id} report=${r} onResolved=${load.reload} />`)}</ul>
    ${cursors.length > 0 && html`<div class="list-end"><button type="button" class="button secondary" onClick=${() => setPages(pages + 1)}>${t('feed.loadMore')}</button></div>`}
  </div>`;
}

export default function ConsoleReports({ query: search }) {
  const state = search.get('state') === 'resolved' ? 'resolved' : 'open';
  return html`<${ConsoleFrame} title=${t('console.nav.reports')}>
    <nav class="subtabs" aria-label=${t('console.reports.which')}>
      <a href="/console/reports" aria-current=${state === 'open' ? 'page' : undefined}>${t('console.reports.open')}</a>
      <a href="/console/reports?state=resolved" aria-current=${state === 'resolved' ? 'page' : undefined}>${t('console.reports.resolvedTab')}</a>
    </nav>
    <${Inbox} key=${state} state=${state} />
  </${ConsoleFrame}>`;
}
