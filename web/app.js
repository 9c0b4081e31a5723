// The web UI's entry: loads the message catalog, picks up a stored session, then renders the view
// of the current route inside the layout. Same-origin links navigate without reloading.

import { html, render, useState, useEffect } from './lib/html.js';
import { config } from './lib/config.js';
import { loadMessages, t } from './lib/i18n.js';
import { session, restore, setPasswordPrompt } from './lib/auth.js';
import { location$, navigate, match } from './lib/router.js';
import { loadMe, loadRole, startUnreadPolling, stopUnreadPolling, openDialog } from './lib/state.js';
import { effect, computed } from '@preact/signals';
import { Layout } from './components/layout.js';
import { DialogHost, PasswordDialog } from './components/dialog.js';
import { ErrorNotice, Loading } from './components/ui.js';

// Calls no app permission covers ask for the password again, in a dialog.
setPasswordPrompt((confirm) => openDialog(PasswordDialog, { confirm }).then((confirmed) => !!confirmed));

/** Loaded view modules by route name. */
const views = new Map();

function RouteView() {
  const { route, params, query, key } = location$.value;
  const [, setLoaded] = useState(0);
  const [failed, setFailed] = useState(null);
  const [attempt, setAttempt] = useState(0);
  const signedIn = !!session.value;
  const visitor = !signedIn && route.signedOut;
  const name = visitor ? `${route.name}:signedOut` : route.name;
  useEffect(() => {
    if (views.has(name)) return;
    setFailed(null);
    (visitor ? route.signedOut : route.load)()
      .then((module) => {
        views.set(name, module.default);
        setLoaded((n) => n + 1);
      })
      .catch((e) => setFailed(e));
  }, [name, attempt]);
  if (!signedIn && !route.public) {
    queueMicrotask(() => navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true }));
    return null;
  }
  if (signedIn && route.signedOutOnly) {
    queueMicrotask(() => navigate('/', { replace: true }));
    return null;
  }
  // The view's module could not be fetched (offline, or the server restarted with a new version).
  if (failed) return html`<${ErrorNotice} error=${{ error: 'NetworkError' }} onRetry=${() => setAttempt(attempt + 1)} />`;
  const View = views.get(name);
  if (!View) return html`<${Loading} />`;
  return html`<${View} key=${`${name}:${JSON.stringify(params)}:${key}`} params=${params} query=${query} route=${route} />`;
}

function App() {
  return html`<${Layout}><${RouteView} /></${Layout}><${DialogHost} />`;
}

/** Plain clicks on same-origin links navigate inside the page. */
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest && event.target.closest('a[href]');
  if (!link || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/xrpc/') || url.pathname.startsWith('/assets/')) return;
  // Some pages carry their own security policy: the browser loads them afresh.
  if (match(url.pathname).route.fullLoad || location$.value.route.fullLoad) return;
  event.preventDefault();
  if (url.pathname + url.search === location.pathname + location.search && !url.hash) return;
  navigate(url.pathname + url.search + url.hash);
});

async function start() {
  const root = document.getElementById('app');
  try {
    await Promise.all([loadMessages(`${config.assets}locales/en.json`), restore()]);
  } catch {
    // Without the catalog there are no words to show; say so plainly and offer a reload.
    root.textContent = 'This page could not load. Check your connection and reload.';
    return;
  }
  document.documentElement.lang = 'en';
  const did = computed(() => session.value && session.value.did);
  effect(() => {
    if (did.value) {
      loadMe();
      loadRole();
      startUnreadPolling();
    } else {
      stopUnreadPolling();
      loadMe();
      loadRole();
    }
  });
  root.textContent = '';
  render(html`<${App} />`, root);
}

start();
