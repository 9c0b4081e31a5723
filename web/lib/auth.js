// The session: the one module that holds credentials. Today it signs in with
// com.atproto.server.createSession and keeps the access and refresh tokens in localStorage, so a
// reload stays signed in; refreshSession rotates them (one tab at a time, through a Web Lock, and
// the other tabs pick up the result). When the OAuth issue lands this module becomes an OAuth
// public client of the same node and nothing else changes.
// Spec: https://atproto.com/specs/xrpc#authentication (legacy sessions).

import { signal } from '@preact/signals';
import { xrpc, setAuthProvider, XrpcError } from './xrpc.js';

const KEY = 'skyhold.session';
/** Refresh a little before the access token expires rather than after a failed call. */
const EARLY_REFRESH_MS = 60_000;

/** `{ did, handle, email, emailConfirmed, active, status }` or null when signed out. */
export const session = signal(null);

let tokens = null; // { accessJwt, refreshJwt }

function stored() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function publicPart(s) {
  const { accessJwt, refreshJwt, didDoc, ...rest } = s;
  return rest;
}

function adopt(s) {
  tokens = { accessJwt: s.accessJwt, refreshJwt: s.refreshJwt };
  const view = publicPart(s);
  localStorage.setItem(KEY, JSON.stringify({ ...view, ...tokens }));
  session.value = view;
}

function forget() {
  tokens = null;
  localStorage.removeItem(KEY);
  session.value = null;
}

function expiresAt(jwt) {
  try {
    const payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return payload.exp * 1000;
  } catch {
    return 0;
  }
}

async function withLock(fn) {
  if (navigator.locks) return navigator.locks.request('skyhold-session-refresh', fn);
  return fn();
}

/**
 * Swaps the refresh token for new tokens. `seen` is the access token that failed: when another
 * tab refreshed meanwhile, its tokens are adopted instead of refreshing twice.
 */
async function refresh(seen) {
  return withLock(async () => {
    const latest = stored();
    if (!latest || !latest.refreshJwt) {
      forget();
      return null;
    }
    if (latest.accessJwt !== seen && expiresAt(latest.accessJwt) > Date.now() + EARLY_REFRESH_MS) {
      adopt(latest);
      return latest.accessJwt;
    }
    try {
      const response = await fetch('/xrpc/com.atproto.server.refreshSession', {
        method: 'POST',
        headers: { authorization: `Bearer ${latest.refreshJwt}` },
      });
      if (!response.ok) {
        if (response.status === 400 || response.status === 401) forget();
        return null;
      }
      const fresh = await response.json();
      adopt({ ...publicPart(latest), ...fresh });
      return fresh.accessJwt;
    } catch {
      return null; // offline: keep the session, the call fails with its own error
    }
  });
}

async function token() {
  if (!tokens) return null;
  if (expiresAt(tokens.accessJwt) < Date.now() + EARLY_REFRESH_MS) {
    return (await refresh(tokens.accessJwt)) || (tokens && tokens.accessJwt);
  }
  return tokens.accessJwt;
}

setAuthProvider({ token, refresh });

// Another tab signed in, out, or refreshed.
window.addEventListener('storage', (event) => {
  if (event.key !== KEY) return;
  const s = stored();
  if (!s) {
    tokens = null;
    session.value = null;
  } else {
    tokens = { accessJwt: s.accessJwt, refreshJwt: s.refreshJwt };
    session.value = publicPart(s);
  }
});

/** Picks up a stored session and checks it with getSession (refreshing when needed). */
export async function restore() {
  const s = stored();
  if (!s || !s.accessJwt) return;
  tokens = { accessJwt: s.accessJwt, refreshJwt: s.refreshJwt };
  session.value = publicPart(s);
  try {
    await reloadSession();
  } catch (e) {
    if (e instanceof XrpcError && e.status >= 400 && e.status < 500) forget();
  }
}

/** Reads the account's state again (email confirmed, active, handle). */
export async function reloadSession() {
  const info = await xrpc('com.atproto.server.getSession');
  const s = stored();
  if (s && tokens) adopt({ ...s, ...info, ...tokens });
  return info;
}

/** Signs in with a handle, email or DID and a password (or app password). */
export async function signIn(identifier, password, authFactorToken) {
  const s = await xrpc('com.atproto.server.createSession', {
    body: { identifier, password, authFactorToken: authFactorToken || undefined },
    anonymous: true,
  });
  adopt(s);
  return s;
}

/** Creates an account and signs in to it. */
export async function createAccount({ handle, email, password, inviteCode }) {
  const s = await xrpc('com.atproto.server.createAccount', {
    body: { handle, email, password, inviteCode: inviteCode || undefined },
    anonymous: true,
  });
  adopt({ ...s, email, emailConfirmed: false, active: true });
  return s;
}

/** Makes a session obtained elsewhere (moving an account in) the page's session. */
export function adoptSession(s) {
  adopt(s);
}

/** Ends the session on the server (best effort) and here. */
export async function signOut() {
  const refreshJwt = tokens && tokens.refreshJwt;
  forget();
  if (refreshJwt) {
    await fetch('/xrpc/com.atproto.server.deleteSession', {
      method: 'POST',
      headers: { authorization: `Bearer ${refreshJwt}` },
    }).catch(() => {});
  }
}

/** Forgets the session without calling the server (the account is gone). */
export function dropSession() {
  forget();
}
