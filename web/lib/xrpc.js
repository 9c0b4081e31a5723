// XRPC over fetch: the UI talks to its own node exactly as any atproto app does
// (https://atproto.com/specs/xrpc). Adds the session's credentials (from auth.js, the one module
// that holds them): `Authorization: DPoP <token>` with a DPoP proof for the request (RFC 9449;
// retried once when the node wants its new nonce), or the password-confirmed session for the few
// calls no OAuth permission covers. Sends `atproto-proxy` so app.bsky calls go to the node's
// built-in App View, turns failures into `XrpcError { status, error, message }`, and retries once
// after refreshing an access token the node no longer takes.

import { config } from './config.js';
import { proof, noteNonce, wantsNonce } from './oauth.js';

/** Calls that take longer than this fail with `Timeout` (a Pi on a slow link can be slow). */
const TIMEOUT_MS = 30_000;
/** Methods the PDS answers itself, never proxied. */
const PDS_OWN = new Set(['app.bsky.actor.getPreferences', 'app.bsky.actor.putPreferences']);

export class XrpcError extends Error {
  constructor(status, error, message) {
    super(message || error);
    this.status = status;
    this.error = error;
  }
}

/** Set by auth.js: `{ token(), refresh(oldToken), needsPassword(nsid), elevated({ again }) }`. */
let auth = null;
export function setAuthProvider(provider) {
  auth = provider;
}

function url(nsid, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => query.append(key, v));
    else query.append(key, String(value));
  }
  const q = query.toString();
  return `/xrpc/${nsid}${q ? `?${q}` : ''}`;
}

function timeoutSignal(signal) {
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** `token` is an OAuth access token (DPoP) or, with `bearer`, the password-confirmed session's. */
async function send(nsid, { params, body, encoding, signal, token, bearer, raw }) {
  const headers = {};
  if (nsid.startsWith('app.bsky.') && !PDS_OWN.has(nsid) && config.appviewProxy) {
    headers['atproto-proxy'] = config.appviewProxy;
  }
  const init = { method: body === undefined ? 'GET' : 'POST', headers, signal: timeoutSignal(signal) };
  if (body !== undefined) {
    if (body instanceof Blob) {
      headers['content-type'] = encoding || body.type || 'application/octet-stream';
      init.body = body;
    } else {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body ?? {});
    }
  }
  const target = url(nsid, params);
  let response;
  for (let attempt = 0; ; attempt++) {
    if (token && bearer) headers.authorization = `Bearer ${token}`;
    else if (token) {
      headers.authorization = `DPoP ${token}`;
      headers.dpop = await proof(init.method, target, token);
    }
    try {
      response = await fetch(target, init);
    } catch (e) {
      if (signal && signal.aborted) throw e;
      if (e && (e.name === 'TimeoutError' || e.name === 'AbortError')) throw new XrpcError(0, 'Timeout', 'timed out');
      throw new XrpcError(0, 'NetworkError', 'network unreachable');
    }
    if (token && !bearer) {
      noteNonce(response);
      if (response.status === 401 && attempt === 0 && wantsNonce(response)) continue;
    }
    break;
  }
  if (!response.ok) {
    let payload = {};
    try {
      payload = await response.json();
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    const err = new XrpcError(response.status, payload.error || `Http${response.status}`, payload.message || response.statusText);
    err.session = !!token;
    throw err;
  }
  if (raw) return response;
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) return response.json();
  const text = await response.text();
  return text ? { body: text } : {};
}

/** A token the node no longer takes (expired, revoked): worth one refresh. */
function stale(e) {
  return e instanceof XrpcError && (e.error === 'ExpiredToken' || e.error === 'InvalidToken') && (e.status === 400 || e.status === 401);
}

/**
 * Calls `nsid`: a query when `body` is undefined, a procedure otherwise. `raw: true` returns the
 * `Response` (for CAR downloads). With `anonymous: true` no credentials are sent.
 */
export async function xrpc(nsid, { params, body, encoding, signal, raw, anonymous } = {}) {
  const call = { params, body, encoding, signal, raw };
  if (!anonymous && auth && auth.needsPassword(nsid)) {
    const token = await auth.elevated();
    try {
      return await send(nsid, { ...call, token, bearer: true });
    } catch (e) {
      if (!stale(e)) throw e;
      return send(nsid, { ...call, token: await auth.elevated({ again: true }), bearer: true });
    }
  }
  const token = !anonymous && auth ? await auth.token() : null;
  try {
    return await send(nsid, { ...call, token });
  } catch (e) {
    if (token && stale(e) && auth) {
      const fresh = await auth.refresh(token);
      if (fresh) return send(nsid, { ...call, token: fresh });
    }
    throw e;
  }
}

export const query = (nsid, params, options = {}) => xrpc(nsid, { ...options, params });
export const procedure = (nsid, body, options = {}) => xrpc(nsid, { ...options, body: body ?? {} });
