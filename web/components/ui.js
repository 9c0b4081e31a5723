// Small shared pieces: avatars, names, relative times, error and empty states, spinners, tabs,
// and the page title hook. Every visible word comes from the catalog.

import { html, useEffect, useState, signal } from '../lib/html.js';
import { t, locale } from '../lib/i18n.js';
import { relativeTime, fullTime } from '../lib/time.js';
import { describeError } from '../lib/errors.js';
import { online } from '../lib/state.js';
import { session } from '../lib/auth.js';
import { config } from '../lib/config.js';
import { profilePath } from '../lib/router.js';
import { Icon } from './icons.js';

/** Sets the document title for the current view ("Notifications — example.com"). */
export function useTitle(title) {
  useEffect(() => {
    document.title = title ? `${title} — ${config.hostname}` : config.hostname;
  }, [title]);
}

/**
 * An image URL this page may load. Blobs of local accounts are served by this node; when the page
 * was opened under another name than the public URL, they are rewritten to this origin. Images on
 * other servers are not loaded (the CSP allows this origin only): the caller shows a placeholder.
 */
export function localImage(url) {
  if (!url) return null;
  if (url.startsWith(`${config.publicUrl}/`)) return `${location.origin}${url.slice(config.publicUrl.length)}`;
  if (url.startsWith(`${location.origin}/`) || url.startsWith('blob:') || url.startsWith('/')) return url;
  return null;
}

/** A round avatar (or the default silhouette). Decorative unless given `alt`. */
export function Avatar({ actor, size = 42, alt = '' }) {
  const src = localImage(actor && actor.avatar);
  const style = `width:${size}px;height:${size}px`;
  if (!src) {
    const letter = ((actor && (actor.displayName || actor.handle)) || '?').trim().charAt(0).toUpperCase();
    return html`<span class="avatar avatar-empty" style=${style} role=${alt ? 'img' : undefined} aria-label=${alt || undefined} aria-hidden=${alt ? undefined : 'true'}>${letter}</span>`;
  }
  return html`<img class="avatar" src=${src} alt=${alt} width=${size} height=${size} style=${style} loading="lazy" decoding="async" />`;
}

/** Display name, falling back to the handle. */
export function displayName(actor) {
  return ((actor && actor.displayName) || '').trim() || (actor && actor.handle) || '';
}

/** Name and @handle linking to the profile. */
export function NameLink({ actor, className = '' }) {
  return html`<a class=${`name-link ${className}`} href=${profilePath(actor)}>
    <span class="display-name">${displayName(actor)}</span>
    <span class="handle">@${actor.handle}</span>
  </a>`;
}

/** One clock for every relative time on the page, ticking each minute. */
const minute = signal(Date.now());
setInterval(() => (minute.value = Date.now()), 60_000);

/** A relative time that updates every minute, with the full date on hover. */
export function RelativeTime({ date, href }) {
  const full = fullTime(date, locale);
  const text = relativeTime(date, minute.value, locale, t('time.now'));
  const time = html`<time datetime=${date} title=${full}>${text}</time>`;
  return href ? html`<a class="time-link" href=${href} aria-label=${`${text}, ${full}`}>${time}</a>` : time;
}

export function Spinner({ label }) {
  return html`<div class="spinner-wrap" role="status"><span class="spinner" aria-hidden="true"></span><span class="visually-hidden">${label || t('common.loading')}</span></div>`;
}

/** A loading state that admits it is slow after a few seconds. */
export function Loading({ label }) {
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    const timer = setTimeout(() => setSlow(true), 4000);
    return () => clearTimeout(timer);
  }, []);
  return html`<div class="loading">
    <${Spinner} label=${label} />
    ${slow && html`<p class="muted">${t('common.slow')}</p>`}
  </div>`;
}

/** An error in words, with a way to try again. */
export function ErrorNotice({ error, onRetry, compact = false }) {
  const { key, values } = describeError(error, { online: online.value, signedIn: !!session.value });
  return html`<div class=${compact ? 'error-notice compact' : 'error-notice'} role="alert">
    <p>${t(key, values)}</p>
    ${onRetry && html`<button type="button" class="button secondary small" onClick=${onRetry}>${t('common.retry')}</button>`}
  </div>`;
}

/** The text of an error, for toasts and form messages. */
export function errorText(error) {
  const { key, values } = describeError(error, { online: online.value, signedIn: !!session.value });
  return t(key, values);
}

export function Empty({ title, children }) {
  return html`<div class="empty"><p class="empty-title">${title}</p>${children}</div>`;
}

/**
 * Tabs as links or buttons: `tabs` is `[{ id, label, href? }]`. With hrefs they navigate (each
 * tab is its own URL); without, `onSelect` is called. Arrow keys move between tabs.
 */
export function Tabs({ tabs, active, onSelect, label }) {
  const onKeyDown = (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const items = [...e.currentTarget.querySelectorAll('[role=tab]')];
    const index = items.indexOf(document.activeElement);
    const next = items[(index + (e.key === 'ArrowRight' ? 1 : items.length - 1)) % items.length];
    next.focus();
    next.click();
    e.preventDefault();
  };
  return html`<div class="tabs" role="tablist" aria-label=${label} onKeyDown=${onKeyDown}>
    ${tabs.map((tab) =>
      tab.href
        ? html`<a role="tab" class="tab" href=${tab.href} aria-selected=${tab.id === active ? 'true' : 'false'} tabindex=${tab.id === active ? 0 : -1}>${tab.label}</a>`
        : html`<button type="button" role="tab" class="tab" aria-selected=${tab.id === active ? 'true' : 'false'} tabindex=${tab.id === active ? 0 : -1} onClick=${() => onSelect(tab.id)}>${tab.label}</button>`,
    )}
  </div>`;
}

/** The sticky header of a view: a back button (except on top-level views) and the title. */
export function ViewHeader({ title, back = false, children }) {
  return html`<header class="view-header">
    <div class="view-header-row">
      ${back && html`<button type="button" class="icon-button" aria-label=${t('common.back')} onClick=${() => (history.length > 1 ? history.back() : (location.href = '/'))}>
        <${Icon} name="back" />
      </button>`}
      <h1 class="view-title">${title}</h1>
    </div>
    ${children}
  </header>`;
}

/** A labelled form field: the label is always visible; `hint` and `error` are announced with it. */
export function Field({ id, label, hint, error, children }) {
  return html`<div class=${error ? 'field has-error' : 'field'}>
    <label for=${id}>${label}</label>
    ${children}
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    ${error && html`<p class="field-error" id=${`${id}-error`} role="alert">${error}</p>`}
  </div>`;
}

/** The ids a field's input names in `aria-describedby`. */
export function describedBy(id, { hint, error }) {
  const ids = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

/** Whether an account asked (self-label `!no-unauthenticated`) not to be shown to signed-out visitors. */
export function hiddenFromSignedOut(actor) {
  return !session.value && !!actor && (actor.labels || []).some((l) => l.val === '!no-unauthenticated' && !l.neg);
}

/** What a signed-out visitor sees of such an account. */
export function SignedOutOnly() {
  return html`<${Empty} title=${t('profile.signedInOnly')}>
    <a class="button" href=${`/signin?next=${encodeURIComponent(location.pathname)}`}>${t('nav.signin')}</a>
  </${Empty}>`;
}
