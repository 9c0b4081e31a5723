// The frame around every view. Phone (narrow): a top bar, the view, a bottom tab bar and a
// floating "new post" button. Tablet: an icon rail. Desktop: a labelled side menu, the view in a
// 600 px column, and a side column with search and what this server is. Landmarks (navigation,
// main, complementary) and a skip link make it quick to move around with a keyboard or a reader.

import { html, useState } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { session } from '../lib/auth.js';
import { unreadCount, me, online, toasts, dismissToast, isAdmin } from '../lib/state.js';
import { location$, profilePath, navigate } from '../lib/router.js';
import { config } from '../lib/config.js';
import { Icon } from './icons.js';
import { Avatar, displayName } from './ui.js';
import { openComposer } from './dialogs.js';

function badgeText(n) {
  return n > 30 ? '30+' : String(n);
}

/** The main links; `wide` ones are left out of the phone's bottom bar (Settings leads to them). */
function navItems() {
  const s = session.value;
  if (!s) {
    return [
      { id: 'home', href: '/', icon: 'home', label: t('nav.home') },
      { id: 'signin', href: '/signin', icon: 'user', label: t('nav.signin') },
    ];
  }
  const profile = me.value ? profilePath(me.value) : `/profile/${s.handle}`;
  return [
    { id: 'home', href: '/', icon: 'home', label: t('nav.home') },
    { id: 'search', href: '/search', icon: 'search', label: t('nav.search') },
    { id: 'notifications', href: '/notifications', icon: 'bell', label: t('nav.notifications'), badge: unreadCount.value },
    { id: 'profile', href: profile, icon: 'person', label: t('nav.profile') },
    { id: 'saved', href: '/saved', icon: 'bookmark', label: t('nav.saved'), wide: true },
    ...(isAdmin.value ? [{ id: 'console', href: '/console', icon: 'shield', label: t('nav.console'), wide: true }] : []),
    { id: 'settings', href: '/settings', icon: 'settings', label: t('nav.settings') },
  ];
}

function isCurrent(item) {
  const path = location$.value.path;
  if (item.href === '/') return path === '/';
  // A post's page is under its author's profile path, but it is not "Profile".
  if (item.id === 'profile') return path === item.href || path === `${item.href}/followers` || path === `${item.href}/follows`;
  return path === item.href || path.startsWith(`${item.href}/`);
}

/** A link of the main navigation; the unread badge is part of its name ("Notifications 3 unread"). */
function NavLink({ item, compact }) {
  const current = isCurrent(item);
  return html`<a href=${item.href} class=${current ? 'nav-link current' : 'nav-link'} aria-current=${current ? 'page' : undefined}>
    <span class="nav-icon"><${Icon} name=${item.icon} filled=${false} size=${compact ? 24 : 22} /></span>
    <span class=${compact ? 'visually-hidden' : 'nav-label'}>${item.label}</span>
    ${item.badge > 0 && html`<span class="badge">${badgeText(item.badge)}<span class="visually-hidden"> ${t('nav.unread')}</span></span>`}
  </a>`;
}

function SideNav() {
  const s = session.value;
  return html`<nav class="side-nav" aria-label=${t('nav.main')}>
    <a class="brand" href="/" aria-label=${t('nav.brand', { host: config.hostname })}>
      <img src=${`${config.assets}icon.svg`} alt="" width="32" height="32" />
      <span class="brand-name">${config.hostname}</span>
    </a>
    ${navItems().map((item) => html`<${NavLink} item=${item} />`)}
    ${s && html`<button type="button" class="button compose-button" onClick=${() => openComposer()}>
      <${Icon} name="pencil" /><span class="nav-label">${t('nav.newPost')}</span>
    </button>`}
    ${s && me.value && html`<a class="side-account" href=${profilePath(me.value)}>
      <${Avatar} actor=${me.value} size=${36} />
      <span class="side-account-text"><span class="display-name">${displayName(me.value)}</span><span class="handle">@${me.value.handle}</span></span>
    </a>`}
  </nav>`;
}

function BottomBar() {
  return html`<nav class="bottom-bar" aria-label=${t('nav.main')}>
    ${navItems().filter((item) => !item.wide).map((item) => html`<${NavLink} item=${item} compact />`)}
  </nav>`;
}

function SearchBox() {
  const [q, setQ] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (q.trim()) navigate(`/search?q=${encodeURIComponent(q.trim())}`);
  };
  return html`<form class="side-search" role="search" onSubmit=${submit}>
    <label for="side-search-input" class="visually-hidden">${t('search.label')}</label>
    <span class="side-search-icon"><${Icon} name="search" size=${18} /></span>
    <input id="side-search-input" type="search" placeholder=${t('search.placeholder')} value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
  </form>`;
}

function SideColumn() {
  return html`<aside class="side-column" aria-label=${t('side.label')}>
    ${session.value && location$.value.route.name !== 'search' && html`<${SearchBox} />`}
    <section class="card about-card" aria-labelledby="about-title">
      <h2 id="about-title">${t('side.aboutTitle', { host: config.hostname })}</h2>
      <p class="muted">${t('side.aboutText')}</p>
      ${!session.value && html`<div class="stack-buttons">
        <a class="button" href="/signup">${t('nav.signup')}</a>
        <a class="button secondary" href="/signin">${t('nav.signin')}</a>
      </div>`}
      <p class="muted small">${t('side.version', { version: config.version })}</p>
    </section>
  </aside>`;
}

function Toasts() {
  return html`<div class="toasts" role="status" aria-live="polite">
    ${toasts.value.map((toast) => html`<div class=${`toast ${toast.kind}`} key=${toast.id}>
      <span>${toast.message}</span>
      ${toast.link && html`<a href=${toast.link.href} onClick=${() => dismissToast(toast.id)}>${toast.link.label}</a>`}
      <button type="button" class="icon-button small" aria-label=${t('common.dismiss')} onClick=${() => dismissToast(toast.id)}><${Icon} name="close" size=${16} /></button>
    </div>`)}
  </div>`;
}

function AccountBanner() {
  const s = session.value;
  if (!s || s.active !== false) return null;
  return html`<div class="account-banner" role="status">
    <span>${s.status === 'deactivated' ? t('account.deactivatedBanner') : t('account.inactiveBanner', { status: s.status || '' })}</span>
    ${s.status === 'deactivated' && html`<a href="/settings/account#deactivate">${t('account.reactivate')}</a>`}
  </div>`;
}

export function Layout({ children }) {
  const wide = location$.value.route.wide;
  return html`<div class=${wide ? 'layout wide' : 'layout'}>
    <a class="skip-link" href="#main">${t('nav.skip')}</a>
    <${SideNav} />
    <main id="main" class="main-column" tabindex="-1">
      ${!online.value && html`<div class="offline-banner" role="status">${t('common.offline')}</div>`}
      <${AccountBanner} />
      ${children}
    </main>
    ${!wide && html`<${SideColumn} />`}
    ${session.value && html`<button type="button" class="fab" aria-label=${t('nav.newPost')} onClick=${() => openComposer()}><${Icon} name="pencil" size=${24} /></button>`}
    <${BottomBar} />
    <${Toasts} />
  </div>`;
}
