// The session: the one module that holds credentials. The UI is an OAuth public client of its own
// node (oauth.js has the protocol): signing in goes through the node's sign-in page, and the
// DPoP-bound access and refresh tokens are kept in localStorage (useless without the DPoP key,
// which never leaves IndexedDB), so a reload stays signed in. A refresh happens in one tab at a
// time, through a Web Lock, and the other tabs adopt its result: refresh tokens rotate, and a
// spent one used again ends the whole session on the node, by design.
//
// What no OAuth permission covers (docs/OAUTH.md, "The built-in web UI") is reached with the
// account's password asked again: the node checks it through com.atproto.server.createSession,
// and that short session serves those calls only, in this tab, for a few minutes.
// Specs: https://atproto.com/specs/oauth, https://atproto.com/specs/xrpc#authentication.

import { signal } from '@preact/signals';
import { xrpc, setAuthProvider, XrpcError } from './xrpc.js';
import * as oauth from './oauth.js';

const KEY = 'skyhold.session';
/** The password-confirmed session for the calls no permission covers: this tab only. */
const ELEVATED = 'skyhold.elevated';
/** How long a confirmed password serves before it is asked again. */
const ELEVATED_MS = 10 * 60_000;
/** Refresh a little before the access token expires rather than after a failed call. */
const EARLY_REFRESH_MS = 60_000;

/** `{ did, handle, email, emailConfirmed, active, status }` or null when signed out. */
export const session = signal(null);

let tokens = null; // { accessToken, refreshToken, expiresAt }

function stored() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function publicPart(s) {
  const { accessToken, refreshToken, expiresAt, didDoc, ...rest } = s;
  return rest;
}

function adopt(view, fresh) {
  tokens = { accessToken: fresh.accessToken, refreshToken: fresh.refreshToken, expiresAt: fresh.expiresAt };
  const kept = publicPart(view);
  localStorage.setItem(KEY, JSON.stringify({ ...kept, ...tokens }));
  session.value = kept;
}

/** A token response as kept here. */
function fromResponse(r) {
  return { accessToken: r.access_token, refreshToken: r.refresh_token, expiresAt: Date.now() + (r.expires_in || 0) * 1000 };
}

function forget() {
  tokens = null;
  localStorage.removeItem(KEY);
  oauth.clearTokens();
  session.value = null;
  dropElevated();
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
    const view = stored();
    // Not localStorage: another tab's write may not have reached this one yet.
    const latest = (await oauth.loadTokens()) || view;
    if (!view || !latest || !latest.refreshToken) {
      forget();
      return null;
    }
    if (latest.accessToken !== seen && latest.expiresAt > Date.now() + EARLY_REFRESH_MS) {
      adopt(view, latest);
      return latest.accessToken;
    }
    try {
      const fresh = fromResponse(await oauth.refreshTokens(latest.refreshToken));
      await oauth.saveTokens(fresh);
      adopt(view, fresh);
      return fresh.accessToken;
    } catch (e) {
      // The node refused the refresh token (revoked, expired, reused): the session is over.
      if (e.status >= 400 && e.status < 500) forget();
      return null; // offline: keep the session, the call fails with its own error
    }
  });
}

async function token() {
  if (!tokens) return null;
  if (tokens.expiresAt < Date.now() + EARLY_REFRESH_MS) {
    return (await refresh(tokens.accessToken)) || (tokens && tokens.accessToken);
  }
  return tokens.accessToken;
}

// ---- the password, asked again for what no permission covers

/** Methods no OAuth permission reaches (src/pds/access.rs) that the UI calls. */
const PASSWORD_METHODS = new Set([
  'com.atproto.server.createAppPassword',
  'com.atproto.server.listAppPasswords',
  'com.atproto.server.revokeAppPassword',
  'com.atproto.server.activateAccount',
  'com.atproto.server.deactivateAccount',
  'com.atproto.server.requestAccountDelete',
  'com.atproto.server.getAccountInviteCodes',
  'com.atproto.server.createInviteCodes',
  'blue.skyhold.oauth.listApps',
  'blue.skyhold.oauth.revokeApp',
]);

/** Whether a call needs the password-confirmed session: the ones above and admin powers. */
export function needsPassword(nsid) {
  if (PASSWORD_METHODS.has(nsid)) return true;
  if (nsid.startsWith('com.atproto.admin.')) return true;
  return nsid.startsWith('blue.skyhold.admin.') && nsid !== 'blue.skyhold.admin.getRole';
}

let prompt = null;

/**
 * Set by the app: `prompt(confirm)` asks for the password and calls `confirm(password)` (which
 * throws when the node refuses it); resolves true once confirmed, false when the member cancels.
 */
export function setPasswordPrompt(fn) {
  prompt = fn;
}

function elevatedSession() {
  try {
    const e = JSON.parse(sessionStorage.getItem(ELEVATED) || 'null');
    if (e && session.value && e.did === session.value.did && e.until > Date.now()) return e;
  } catch {
    // Unreadable: ask again.
  }
  dropElevated();
  return null;
}

/** Ends the password-confirmed session, on the node too. */
function dropElevated() {
  let e = null;
  try {
    e = JSON.parse(sessionStorage.getItem(ELEVATED) || 'null');
  } catch {
    // Nothing to end.
  }
  sessionStorage.removeItem(ELEVATED);
  if (e && e.refreshJwt) {
    fetch('/xrpc/com.atproto.server.deleteSession', { method: 'POST', headers: { authorization: `Bearer ${e.refreshJwt}` } }).catch(() => {});
  }
}

let asking = null;

/** The access token of the password-confirmed session, asking for the password when needed. */
async function elevated({ again = false } = {}) {
  if (again) dropElevated();
  const current = elevatedSession();
  if (current) return current.accessJwt;
  if (!session.value || !prompt) throw new XrpcError(401, 'AuthMissing', 'Authentication Required');
  // Several calls at once share one question.
  if (!asking) {
    const did = session.value.did;
    asking = prompt(async (password) => {
      const s = await xrpc('com.atproto.server.createSession', { body: { identifier: did, password }, anonymous: true });
      sessionStorage.setItem(ELEVATED, JSON.stringify({ did, accessJwt: s.accessJwt, refreshJwt: s.refreshJwt, until: Date.now() + ELEVATED_MS }));
    }).finally(() => (asking = null));
  }
  const confirmed = await asking;
  const now = elevatedSession();
  if (!confirmed || !now) throw new XrpcError(0, 'PasswordNotConfirmed', '');
  return now.accessJwt;
}

setAuthProvider({ token, refresh, needsPassword, elevated });

// Another tab signed in, out, or refreshed.
window.addEventListener('storage', (event) => {
  if (event.key !== KEY) return;
  const s = stored();
  if (!s) {
    tokens = null;
    session.value = null;
    dropElevated();
  } else {
    tokens = { accessToken: s.accessToken, refreshToken: s.refreshToken, expiresAt: s.expiresAt };
    session.value = publicPart(s);
  }
});

/** Picks up a stored session and checks it with getSession (refreshing when needed). */
export async function restore() {
  const s = stored();
  // A password session kept by an older version of the UI: ended, and signed in anew with OAuth.
  if (s && s.refreshJwt) {
    localStorage.removeItem(KEY);
    endPasswordSession(s.refreshJwt);
    return;
  }
  if (!s || !s.accessToken) return;
  const latest = await oauth.loadTokens();
  tokens = latest || { accessToken: s.accessToken, refreshToken: s.refreshToken, expiresAt: s.expiresAt };
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
  if (s && tokens) adopt({ ...publicPart(s), ...info }, tokens);
  return info;
}

/**
 * Signs in through the node's sign-in page: the browser leaves for it and comes back to
 * /signin/callback. `loginHint` fills in the handle there.
 */
export function signIn({ loginHint, next } = {}) {
  return oauth.startSignIn({ loginHint, next });
}

/** The callback: tokens for the code, then the account's state. Resolves where to go next. */
export async function completeSignIn(search) {
  const { tokens: response, next } = await oauth.finishSignIn(search);
  // Signing in as someone else (moving an account in) ends the session held until now.
  const previous = tokens && tokens.refreshToken;
  const fresh = fromResponse(response);
  await oauth.saveTokens(fresh);
  adopt({ did: response.sub }, fresh);
  if (previous) oauth.revoke(previous).catch(() => {});
  try {
    await reloadSession();
  } catch (e) {
    forget();
    throw e;
  }
  return next;
}

/**
 * Creates an account, then signs in to it through the node's page: the password session
 * createAccount returns is ended at once, so the UI only ever holds an OAuth session.
 */
export async function createAccount({ handle, email, password, inviteCode }) {
  const s = await xrpc('com.atproto.server.createAccount', {
    body: { handle, email, password, inviteCode: inviteCode || undefined },
    anonymous: true,
  });
  await endPasswordSession(s.refreshJwt);
  return s;
}

/** Ends a password session made on the way (sign-up, moving in): best effort. */
export async function endPasswordSession(refreshJwt) {
  if (!refreshJwt) return;
  await fetch('/xrpc/com.atproto.server.deleteSession', { method: 'POST', headers: { authorization: `Bearer ${refreshJwt}` } }).catch(() => {});
}

/**
 * Ends the session on the node, then here: the refresh token (the latest one, whichever tab
 * rotated it) is revoked, which ends the access token too; offline, the session is forgotten
 * here anyway.
 */
export async function signOut() {
  const latest = (await oauth.loadTokens()) || tokens;
  const refreshToken = latest && latest.refreshToken;
  if (refreshToken) await oauth.revoke(refreshToken).catch(() => {});
  forget();
  await oauth.dropKey();
}

/**
 * Forgets the session without calling the server (the account is gone, or deactivating ended
 * its sessions there). The DPoP key stays: a sign-in may follow at once.
 */
export function dropSession() {
  forget();
}
