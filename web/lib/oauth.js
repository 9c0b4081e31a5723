// The OAuth protocol of the UI as a public client of its own node, nothing else: PKCE (S256),
// pushed authorization requests, the code and refresh grants, revocation, and DPoP proofs signed
// by a P-256 key made with WebCrypto as non-extractable and kept in IndexedDB (the page can sign
// with it, no script can read it out). The node's current DPoP nonce is remembered from every
// answer and a `use_dpop_nonce` refusal is retried once with the new one.
// The client id and redirect URI are read from the client metadata document the node serves
// (src/pds/oauth/web_client.rs), so the two never disagree.
// Specs: https://atproto.com/specs/oauth, RFC 9449 (DPoP), RFC 7636 (PKCE), RFC 9126 (PAR).

import { config } from './config.js';

const DB = 'skyhold-oauth';
const STORE = 'keys';
const KEY_ID = 'dpop';
/** The sign-in under way (verifier, state, where to go after): this tab only. */
const PENDING = 'skyhold.oauth.pending';
const METADATA_PATH = '/oauth/client-metadata.json';

/** The issuer: the node's public URL (the `htu` of every proof starts with it). */
export const issuer = (config.publicUrl || location.origin).replace(/\/+$/, '');

/** The UI's own client id (the node serves its metadata document at this URL). */
export const webClientId = `${issuer}${METADATA_PATH}`;

const encoder = new TextEncoder();

export function base64url(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function sha256(text) {
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

// ---- the DPoP key

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

let keyPromise = null;

/** The key pair, made on first use. Every tab of the origin uses the same one. */
function dpopKey() {
  if (!keyPromise) {
    keyPromise = (async () => {
      const stored = await withStore('readonly', (s) => s.get(KEY_ID));
      if (stored && stored.privateKey && stored.jwk) return stored;
      const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
      const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
      const key = { privateKey: pair.privateKey, jwk: { kty, crv, x, y } };
      // Two tabs making a key at once: the first one stored wins, the other adopts it.
      await withStore('readwrite', (s) => s.add(key, KEY_ID)).catch(() => {});
      const kept = await withStore('readonly', (s) => s.get(KEY_ID));
      return kept || key;
    })();
    keyPromise.catch(() => (keyPromise = null));
  }
  return keyPromise;
}

/** Forgets the key (after sign-out): the next session is bound to a new one. */
export async function dropKey() {
  keyPromise = null;
  await withStore('readwrite', (s) => s.delete(KEY_ID)).catch(() => {});
}

// ---- the tokens, where a refresh decides

const TOKENS_ID = 'tokens';

/**
 * The tokens as the last refresh left them. IndexedDB, unlike localStorage, is consistent across
 * tabs at once, so a tab that waited for another's refresh reads its result, never the spent
 * refresh token.
 */
export function loadTokens() {
  return withStore('readonly', (s) => s.get(TOKENS_ID)).catch(() => null);
}

export function saveTokens(tokens) {
  return withStore('readwrite', (s) => s.put(tokens, TOKENS_ID)).catch(() => {});
}

export function clearTokens() {
  return withStore('readwrite', (s) => s.delete(TOKENS_ID)).catch(() => {});
}

/** The node's last nonce, kept for the tab so a reload does not start with a refused proof. */
const NONCE = 'skyhold.oauth.nonce';
let nonce = sessionStorage.getItem(NONCE);

/** Remembers the node's nonce from an answer. */
export function noteNonce(response) {
  const fresh = response.headers.get('dpop-nonce');
  if (fresh && fresh !== nonce) {
    nonce = fresh;
    sessionStorage.setItem(NONCE, fresh);
  }
}

/** A DPoP proof for `method` on `url` (query and fragment are not part of `htu`). */
export async function proof(method, url, accessToken) {
  const { privateKey, jwk } = await dpopKey();
  const target = new URL(url, issuer);
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk };
  const payload = { jti: randomText(16), htm: method, htu: `${issuer}${target.pathname}`, iat: Math.floor(Date.now() / 1000) };
  if (nonce) payload.nonce = nonce;
  if (accessToken) payload.ath = await sha256(accessToken);
  const input = `${base64url(encoder.encode(JSON.stringify(header)))}.${base64url(encoder.encode(JSON.stringify(payload)))}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, encoder.encode(input));
  return `${input}.${base64url(signature)}`;
}

/** Whether an answer asks for the proof again with the nonce it carries. */
export function wantsNonce(response, body) {
  if (body && body.error === 'use_dpop_nonce') return true;
  return /error="use_dpop_nonce"/.test(response.headers.get('www-authenticate') || '');
}

// ---- the authorization server's endpoints

export class OAuthError extends Error {
  constructor(error, description, status = 400) {
    super(description || error);
    this.error = error;
    this.status = status;
  }
}

/** A form POST to an endpoint of the node, with a DPoP proof (retried once for a nonce). */
async function post(path, fields, { dpop = true } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    if (dpop) headers.dpop = await proof('POST', path);
    let response;
    try {
      response = await fetch(path, { method: 'POST', headers, body: new URLSearchParams(fields) });
    } catch {
      throw new OAuthError('NetworkError', 'network unreachable', 0);
    }
    noteNonce(response);
    const body = await response.json().catch(() => ({}));
    if (response.ok) return body;
    if (attempt === 0 && wantsNonce(response, body)) continue;
    throw new OAuthError(body.error || `Http${response.status}`, body.error_description, response.status);
  }
}

let clientPromise = null;

/** `{ clientId, redirectUri, scope }` from the document the node serves. */
function client() {
  if (!clientPromise) {
    clientPromise = fetch(METADATA_PATH)
      .then((r) => {
        if (!r.ok) throw new OAuthError('NetworkError', `client metadata: ${r.status}`, r.status);
        return r.json();
      })
      .then((doc) => ({ clientId: doc.client_id, redirectUri: doc.redirect_uris[0], scope: doc.scope }));
    clientPromise.catch(() => (clientPromise = null));
  }
  return clientPromise;
}

/**
 * Starts a sign-in: a pushed request, then the browser goes to the node's sign-in page. `next`
 * is where the UI goes once signed in. The page must be on the node's own origin (the callback
 * comes back there, and this tab's storage holds the verifier).
 */
export async function startSignIn({ loginHint, next } = {}) {
  const home = new URL(issuer);
  if (location.origin !== home.origin) {
    location.assign(`${issuer}/signin${next ? `?next=${encodeURIComponent(next)}` : ''}`);
    return;
  }
  // WebCrypto, and so the DPoP key, exists only on secure pages (https, or localhost).
  if (!window.isSecureContext || !crypto.subtle) {
    throw new OAuthError('InsecureContext', 'Signing in needs this server to be opened over https (or on localhost).');
  }
  const { clientId, redirectUri, scope } = await client();
  const verifier = randomText(32);
  const state = randomText(16);
  const fields = {
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: await sha256(verifier),
    code_challenge_method: 'S256',
  };
  if (loginHint) fields.login_hint = loginHint;
  const { request_uri: requestUri } = await post('/oauth/par', fields);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, next: next || '/' }));
  const query = new URLSearchParams({ client_id: clientId, request_uri: requestUri });
  location.assign(`/oauth/authorize?${query}`);
}

/**
 * Ends a sign-in on the callback route: checks `state` and `iss`, swaps the code for tokens.
 * Resolves `{ tokens, next }`; an `OAuthError` when the member denied or the request is stale.
 */
export async function finishSignIn(search) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  if (!pending || search.get('state') !== pending.state) throw new OAuthError('invalid_state', 'This sign-in was not started here, or was already used.');
  if (search.get('iss') && search.get('iss') !== issuer) throw new OAuthError('invalid_issuer', 'The answer came from another server.');
  if (search.get('error')) throw new OAuthError(search.get('error'), search.get('error_description'));
  const { clientId, redirectUri } = await client();
  const tokens = await post('/oauth/token', {
    grant_type: 'authorization_code',
    code: search.get('code') || '',
    redirect_uri: redirectUri,
    code_verifier: pending.verifier,
    client_id: clientId,
  });
  return { tokens, next: pending.next };
}

/** Swaps a refresh token for new tokens (the old refresh token is spent). */
export async function refreshTokens(refreshToken) {
  const { clientId } = await client();
  return post('/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
}

/** Revokes a token, and with it the session (best effort: the tokens are forgotten anyway). */
export async function revoke(token) {
  const { clientId } = await client();
  await post('/oauth/revoke', { token, client_id: clientId }, { dpop: false });
}
