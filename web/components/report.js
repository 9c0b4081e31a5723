// Reporting a post or an account to the server's moderators (com.atproto.moderation.createReport
// with the reason types of com.atproto.moderation.defs).

import { html, useState, useId } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { report } from '../lib/api.js';
import { toast } from '../lib/state.js';
import { Dialog } from './dialog.js';
import { ErrorNotice } from './ui.js';

const REASONS = ['spam', 'violation', 'misleading', 'sexual', 'rude', 'other'];
const TYPE = (r) => `com.atproto.moderation.defs#reason${r[0].toUpperCase()}${r.slice(1)}`;
const MAX_DETAILS = 2000;

/** `subject`: `{ uri, cid }` for a post, `{ did }` for an account; `kind`: 'post' or 'account'. */
export function ReportDialog({ subject, kind, close }) {
  const [reason, setReason] = useState('');
  const [details, setDetails] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const submit = async (e) => {
    e.preventDefault();
    if (!reason) return;
    setBusy(true);
    setError(null);
    try {
      await report(subject, TYPE(reason), details.trim());
      toast(t('report.sent'));
      close(true);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${kind === 'post' ? t('report.titlePost') : t('report.titleAccount')} close=${() => close(false)}>
    <form onSubmit=${submit}>
      <fieldset class="radio-list">
        <legend>${t('report.why')}</legend>
        ${REASONS.map((r) => html`<label class="radio-option">
          <input type="radio" name=${`${id}-reason`} value=${r} checked=${reason === r} onChange=${() => setReason(r)} />
          <span><strong>${t(`report.reason.${r}`)}</strong><span class="muted">${t(`report.reason.${r}.hint`)}</span></span>
        </label>`)}
      </fieldset>
      <div class="field">
        <label for=${`${id}-details`}>${t('report.details')}</label>
        <textarea id=${`${id}-details`} rows="3" maxlength=${MAX_DETAILS} value=${details} onInput=${(e) => setDetails(e.currentTarget.value)}></textarea>
      </div>
      ${error && html`<${ErrorNotice} error=${error} compact />`}
      <div class="dialog-actions">
        <button type="button" class="button secondary" onClick=${() => close(false)}>${t('common.cancel')}</button>
        <button type="submit" class="button danger" disabled=${!reason || busy}>${busy ? t('report.sending') : t('report.send')}</button>
      </div>
    </form>
  </${Dialog}>`;
}
