// Client routes: the History API, one table of path patterns, views loaded on first use. The
// server answers each route's first path segment with the page shell (CLIENT_ROUTES in
// src/web/mod.rs; a Rust test checks the two lists agree).

import { signal } from '@preact/signals';
import { withPart } from './parts.js';

/**
 * `path` patterns (`:name` matches one segment) and the module of each view (`signedOut`: another
 * module for visitors who are not signed in).
 */
export const routes = [
  { path: '/', name: 'home', load: () => import('../views/home.js'), signedOut: () => import('../views/landing.js'), public: true },
  { path: '/search', name: 'search', load: () => import('../views/search.js') },
  { path: '/hashtag/:tag', name: 'hashtag', load: () => import('../views/search.js') },
  { path: '/notifications', name: 'notifications', load: () => import('../views/notifications.js') },
  { path: '/profile/:actor', name: 'profile', load: () => import('../views/profile.js'), public: true },
  { path: '/profile/:actor/followers', name: 'followers', load: () => import('../views/actors.js'), public: true },
  { path: '/profile/:actor/follows', name: 'follows', load: () => import('../views/actors.js'), public: true },
  { path: '/profile/:actor/post/:rkey', name: 'thread', load: () => import('../views/thread.js'), public: true },
  { path: '/profile/:actor/post/:rkey/liked-by', name: 'likedBy', load: () => import('../views/actors.js'), public: true },
  { path: '/profile/:actor/post/:rkey/reposted-by', name: 'repostedBy', load: () => import('../views/actors.js'), public: true },
  { path: '/profile/:actor/post/:rkey/quotes', name: 'quotes', load: () => import('../views/quotes.js'), public: true },
  { path: '/saved', name: 'saved', load: () => import('../views/saved.js') },
  { path: '/settings', name: 'settings', load: () => import('../views/settings.js') },
  { path: '/settings/notifications', name: 'notificationSettings', load: () => import('../views/notification-settings.js') },
  { path: '/settings/account', name: 'account', load: () => import('../views/account.js') },
  { path: '/settings/connected-apps', name: 'connectedApps', load: () => import('../views/connected-apps.js') },
  { path: '/settings/app-passwords', name: 'appPasswords', load: () => import('../views/app-passwords.js') },
  { path: '/moderation', name: 'moderation', load: () => import('../views/moderation.js') },
  { path: '/signin', name: 'signin', load: () => import('../views/signin.js'), public: true, signedOutOnly: true },
  // The redirect URI of the UI's OAuth client metadata (src/pds/oauth/web_client.rs).
  { path: '/signin/callback', name: 'signinCallback', load: () => import('../views/signin-callback.js'), public: true },
  { path: '/signup', name: 'signup', load: () => import('../views/signup.js'), public: true, signedOutOnly: true },
  { path: '/invite/:code', name: 'invite', load: () => import('../views/signup.js'), public: true, signedOutOnly: true },
  { path: '/reset-password', name: 'resetPassword', load: () => import('../views/reset-password.js'), public: true },
  // Portability: keys and backups the member holds, moving out and in.
  { path: '/settings/recovery-key', name: 'recoveryKey', load: withPart('portability', () => import('../views/recovery-key.js')) },
  { path: '/settings/backup', name: 'backup', load: withPart('portability', () => import('../views/backup.js')) },
  { path: '/settings/move-out', name: 'moveOut', load: withPart('portability', () => import('../views/move-out.js')) },
  // Its page may connect to the old server (a wider connect-src), so it is always a full load.
  { path: '/move-in', name: 'moveIn', load: withPart('portability', () => import('../views/move-in.js')), public: true, fullLoad: true },
  // The admin console (accounts with the admin role); wide pages without the side column.
  { path: '/console', name: 'console', load: withPart('console', () => import('../views/console/overview.js')), wide: true },
  { path: '/console/reports', name: 'consoleReports', load: withPart('console', () => import('../views/console/reports.js')), wide: true },
  { path: '/console/accounts', name: 'consoleAccounts', load: withPart('console', () => import('../views/console/accounts.js')), wide: true },
  { path: '/console/accounts/:did', name: 'consoleAccount', load: withPart('console', () => import('../views/console/account.js')), wide: true },
  { path: '/console/invites', name: 'consoleInvites', load: withPart('console', () => import('../views/console/invites.js')), wide: true },
  { path: '/console/network', name: 'consoleNetwork', load: withPart('console', () => import('../views/console/network.js')), wide: true },
  { path: '/console/server', name: 'consoleServer', load: withPart('console', () => import('../views/console/server.js')), wide: true },
  { path: '/console/audit', name: 'consoleAudit', load: withPart('console', () => import('../views/console/audit.js')), wide: true },
];

const notFound = { path: '*', name: 'notFound', load: () => import('../views/not-found.js'), public: true };

/** Matches `pathname` against the table: `{ route, params }`. */
export function match(pathname) {
  const parts = pathname.replace(/\/+$/, '').split('/').slice(1);
  for (const route of routes) {
    const pattern = route.path === '/' ? [] : route.path.split('/').slice(1);
    if (pattern.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < pattern.length; i++) {
      if (pattern[i].startsWith(':')) {
        try {
          params[pattern[i].slice(1)] = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
        }
      } else if (pattern[i] !== parts[i]) ok = false;
      if (!ok) break;
    }
    if (ok) return { route, params };
  }
  return { route: notFound, params: {} };
}

function current() {
  const { route, params } = match(location.pathname);
  return { route, params, path: location.pathname, query: new URLSearchParams(location.search), key: history.state?.key || 'initial' };
}

/** The current location, matched. Views read it; `navigate` and back/forward change it. */
export const location$ = signal(current());

let counter = 0;

/** Goes to `to` (a same-origin path), remembering where the page was scrolled. */
export function navigate(to, { replace = false } = {}) {
  const state = { key: `k${Date.now().toString(36)}${counter++}` };
  if (!replace) history.replaceState({ ...history.state, scroll: window.scrollY }, '');
  if (replace) history.replaceState(state, '', to);
  else history.pushState(state, '', to);
  location$.value = current();
  window.scrollTo(0, 0);
}

/** Where back/forward left off: the view restores it once its content is there. */
export function savedScroll() {
  return history.state?.scroll || 0;
}

window.addEventListener('popstate', () => {
  location$.value = current();
});

/** A path of a post's thread from its at:// URI and author handle. */
export function postPath(uri, handle) {
  const [, , did, , rkey] = uri.split('/');
  return `/profile/${encodeURIComponent(handle || did)}/post/${rkey}`;
}

export function profilePath(actor) {
  return `/profile/${encodeURIComponent(actor.handle && actor.handle !== 'handle.invalid' ? actor.handle : actor.did)}`;
}
