// The admin console's frame and shared pieces: the section navigation, loading a call's answer,
// sizes and states in words. The console is an XRPC client of its own node like the rest of the
// UI: com.atproto.admin.* and skyhold's blue.skyhold.admin.* with the admin's own session (an
// account with the admin role): an OAuth session carries no admin powers, so these calls go with
// the password asked again (lib/auth.js, docs/OAUTH.md).

import { html, useState, useEffect } from '../lib/html.js';
import { t, locale } from '../lib/i18n.js';
import { location$ } from '../lib/router.js';
import { fullTime, relativeTime } from '../lib/time.js';
import { ViewHeader, Loading, ErrorNotice, useTitle } from './ui.js';

export const SECTIONS = [
  { id: 'overview', href: '/console' },
  { id: 'reports', href: '/console/reports' },
  { id: 'accounts', href: '/console/accounts' },
  { id: 'invites', href: '/console/invites' },
  { id: 'network', href: '/console/network' },
  { id: 'server', href: '/console/server' },
  { id: 'audit', href: '/console/audit' },
];

function current(section) {
  const path = location$.value.path;
  return section.href === '/console' ? path === '/console' : path === section.href || path.startsWith(`${section.href}/`);
}

/** A console page: its title, the sections, and the content. */
export function ConsoleFrame({ title, back = false, children }) {
  useTitle(title);
  // On a phone the sections scroll sideways: keep the current one in sight.
  const path = location$.value.path;
  useEffect(() => {
    const current = document.querySelector('.console-nav [aria-current="page"]');
    if (current) current.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [path]);
  return html`<div class="console">
    <${ViewHeader} title=${title} back=${back}>
      <nav class="console-nav" aria-label=${t('console.sections')}>
        <ul>
          ${SECTIONS.map((s) => html`<li><a href=${s.href} aria-current=${current(s) ? 'page' : undefined}>${t(`console.nav.${s.id}`)}</a></li>`)}
        </ul>
      </nav>
    </${ViewHeader}>
    <div class="console-body">${children}</div>
  </div>`;
}

/**
 * Loads `fn()`'s answer: `{ data, error, reload }`. A 403 means the session has no admin powers,
 * shown as such by [`LoadState`].
 */
export function useLoad(fn, deps = []) {
  const [state, setState] = useState({ data: null, error: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ data: s.data, error: null }));
    fn().then(
      (data) => live && setState({ data, error: null }),
      (error) => live && setState({ data: null, error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, attempt]);
  return { ...state, reload: () => setAttempt((n) => n + 1) };
}

/** The loading or failed state of [`useLoad`]; null once there is data. */
export function LoadState({ data, error, reload }) {
  if (error && error.status === 403) return html`<div class="error-notice" role="alert"><p>${t('console.forbidden')}</p></div>`;
  if (error) return html`<${ErrorNotice} error=${error} onRetry=${reload} />`;
  if (!data) return html`<${Loading} />`;
  return null;
}

const byteUnits = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];

/** 1,234,567 → "1.2 MB". */
export function formatBytes(n) {
  let value = Number(n) || 0;
  let unit = 0;
  while (value >= 1000 && unit < byteUnits.length - 1) {
    value /= 1000;
    unit++;
  }
  // Plain bytes read best spelled out ("0 bytes"); larger units short ("1.2 MB").
  return new Intl.NumberFormat(locale, { style: 'unit', unit: byteUnits[unit], unitDisplay: unit ? 'short' : 'long', maximumFractionDigits: unit ? 1 : 0 }).format(value);
}

export function formatNumber(n, digits = 0) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(Number(n) || 0);
}

/** A date in full, with how long ago it was. */
export function When({ date }) {
  if (!date) return html`<span class="muted">${t('console.never')}</span>`;
  return html`<time datetime=${date} title=${fullTime(date, locale)}>${fullTime(date, locale)} <span class="muted">(${relativeTime(date, Date.now(), locale, t('time.now'))})</span></time>`;
}

/** An account's state as a coloured pill. */
export function StatusPill({ status }) {
  const kind = status === 'active' ? 'ok' : status === 'deactivated' ? '' : 'warn';
  return html`<span class=${`pill ${kind}`}>${t(`console.status.${status || 'active'}`)}</span>`;
}

/** A labelled figure. */
export function Figure({ label, value, hint }) {
  return html`<div class="figure"><dt>${label}</dt><dd>${value}${hint && html`<span class="muted small">${hint}</span>`}</dd></div>`;
}

/** Copies `text` and says so. */
export function CopyButton({ text, label, done }) {
  const [copied, setCopied] = useState(false);
  const copy = () =>
    navigator.clipboard.writeText(text).then(() => {
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    });
  return html`<button type="button" class="button secondary small" onClick=${copy}>${copied ? done || t('console.copied') : label || t('console.copy')}</button>`;
}

/** `@handle`, or the DID when there is no handle. */
export function who(did, handles) {
  if (!did) return '';
  if (did === 'admin-password') return t('console.adminPassword');
  const handle = handles && handles[did];
  return handle ? `@${handle}` : did;
}

/** A random password for a reset the admin passes on: 16 characters, no look-alikes. */
export function randomPassword() {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out.replace(/(.{4})(?=.)/g, '$1-');
}
