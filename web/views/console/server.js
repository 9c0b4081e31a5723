// The server itself: storage and the last backup, TLS certificates and their renewal, mail (a
// test message; without mail, the codes waiting for members), and who holds the admin role
// (blue.skyhold.admin.getServerStatus / getTlsStatus / sendTestEmail / listPendingCodes /
// listAdmins). Granting the role stays with the command line and the admin password.

import { html, useState } from '../../lib/html.js';
import { t, locale } from '../../lib/i18n.js';
import { query, procedure } from '../../lib/xrpc.js';
import { toast } from '../../lib/state.js';
import { fullTime } from '../../lib/time.js';
import { errorText } from '../../components/ui.js';
import { ConsoleFrame, useLoad, LoadState, formatBytes, Figure, When, StatusPill, CopyButton } from '../../components/console.js';

function Storage({ status }) {
  const s = status.storage;
  return html`<section class="card" aria-labelledby="storage-detail-title">
    <h2 id="storage-detail-title">${t('console.storage.title')}</h2>
    <dl class="figures">
      <${Figure} label=${t('console.storage.diskFree')} value=${s.diskFreeBytes != null ? formatBytes(s.diskFreeBytes) : '–'} hint=${s.diskSizeBytes ? t('console.storage.of', { size: formatBytes(s.diskSizeBytes) }) : null} />
      <${Figure} label=${t('console.storage.database')} value=${formatBytes(s.databaseBytes)} />
      <${Figure} label=${t('console.storage.blobs')} value=${formatBytes(s.blobBytes)} hint=${t('console.storage.files', { count: s.blobFiles })} />
    </dl>
    <p>${t('console.storage.lastBackup')} <${When} date=${status.lastBackup} /></p>
    <p class="muted small">${t('console.storage.backupHow')}</p>
    <p><code class="command">skyhold backup /var/backups/skyhold-$(date +%F)</code></p>
  </section>`;
}

function Certificates() {
  const load = useLoad(() => query('blue.skyhold.admin.getTlsStatus'));
  const waiting = LoadState(load);
  if (waiting) return html`<section class="card"><h2>${t('console.tls.title')}</h2>${waiting}</section>`;
  const tls = load.data;
  return html`<section class="card" aria-labelledby="tls-title">
    <h2 id="tls-title">${t('console.tls.title')}</h2>
    ${tls.mode === 'off'
      ? html`<p>${t('console.tls.off')}</p>`
      : html`<p class="small">${t('console.tls.mode', { mode: tls.mode })}${tls.acmeDirectory ? ` · ${tls.acmeDirectory}` : ''}</p>
        ${tls.certificates.length === 0
          ? html`<p class="muted">${t('console.tls.none')}</p>`
          : html`<ul class="plain-list">${tls.certificates.map((c) => html`<li class="cert">
              <p class="strong mono">${c.name} ${c.expired ? html`<span class="pill warn">${t('console.tls.expired')}</span>` : c.renewalFailure ? html`<span class="pill warn">${t('console.tls.failing')}</span>` : html`<span class="pill ok">${t('console.tls.valid')}</span>`}</p>
              <p class="small">${t('console.tls.expires')} <${When} date=${c.notAfter} /></p>
              <p class="small">${t('console.tls.renews')} ${fullTime(c.renewAt, locale)}</p>
              ${c.renewalFailure && html`<p class="small field-error">${t('console.tls.lastError', { error: c.renewalFailure.lastError, next: fullTime(c.renewalFailure.nextAttempt, locale) })}</p>`}
            </li>`)}</ul>`}
        ${tls.failing.length > 0 && html`<p class="field-error">${t('console.tls.failingNames', { names: tls.failing.map((f) => f.name).join(', ') })}</p>`}`}
  </section>`;
}

function Mail({ status }) {
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const codes = useLoad(() => (status.mailConfigured ? Promise.resolve({ codes: [] }) : query('blue.skyhold.admin.listPendingCodes')));
  const send = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await procedure('blue.skyhold.admin.sendTestEmail', { to: to.trim() });
      toast(t('console.mail.sent', { to: to.trim() }));
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  return html`<section class="card" aria-labelledby="mail-title">
    <h2 id="mail-title">${t('console.mail.title')}</h2>
    ${status.mailConfigured
      ? html`<form class="inline-fields" onSubmit=${send}>
          <div class="field grow">
            <label for="mail-to">${t('console.mail.to')}</label>
            <input id="mail-to" type="email" required autocomplete="email" value=${to} onInput=${(e) => setTo(e.currentTarget.value)} />
          </div>
          <button type="submit" class="button secondary" disabled=${busy}>${t('console.mail.send')}</button>
        </form>
        ${error && html`<p class="field-error" role="alert">${error}</p>`}`
      : html`<p>${t('console.mail.off')}</p>
        <h3>${t('console.mail.codes')}</h3>
        ${LoadState(codes) ||
        (codes.data.codes.length === 0
          ? html`<p class="muted">${t('console.mail.noCodes')}</p>`
          : html`<ul class="plain-list">${codes.data.codes.map((c) => html`<li class="list-row">
              <span>${c.handle ? `@${c.handle}` : c.did} · ${t(`console.mail.purpose.${c.purpose}`)}<br /><span class="muted small">${t('console.mail.expires', { date: fullTime(c.expiresAt, locale) })}</span></span>
              <span><code>${c.token}</code> <${CopyButton} text=${c.token} /></span>
            </li>`)}</ul>`)}`}
  </section>`;
}

function Admins() {
  const load = useLoad(() => query('blue.skyhold.admin.listAdmins'));
  const waiting = LoadState(load);
  return html`<section class="card" aria-labelledby="admins-title">
    <h2 id="admins-title">${t('console.admins.title')}</h2>
    ${waiting ||
    html`<ul class="plain-list">${load.data.admins.map((a) => html`<li class="list-row"><a href=${`/console/accounts/${encodeURIComponent(a.did)}`}>@${a.handle}</a> <span class="muted small">${t('console.admins.since', { date: fullTime(a.grantedAt, locale) })}</span> <${StatusPill} status=${a.status} /></li>`)}</ul>`}
    <p class="muted small">${t('console.admins.how')}</p>
    <p><code class="command">skyhold admin grant HANDLE</code></p>
  </section>`;
}

function Server() {
  const load = useLoad(() => query('blue.skyhold.admin.getServerStatus'));
  const waiting = LoadState(load);
  if (waiting) return waiting;
  return html`<div class="console-grid">
    <${Storage} status=${load.data} />
    <${Certificates} />
    <${Mail} status=${load.data} />
    <${Admins} />
  </div>`;
}

export default function ConsoleServer() {
  return html`<${ConsoleFrame} title=${t('console.nav.server')}><${Server} /></${ConsoleFrame}>`;
}
