// XRPC over fetch: the UI talks to its own node exactly as any atproto app does
// (https://atproto.com/specs/xrpc). Adds the session's bearer token (from auth.js, the one module
// that holds credentials), sends `atproto-proxy` so app.bsky calls go to the node's built-in App
// View, turns failures into `XrpcError { status, error, message }`, and retries once after
// refreshing an expired access token.

import { config } from './config.js';

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

/** Set by auth.js: `{ token(), refresh(oldToken) }`. */
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

async function send(nsid, { params, body, encoding, signal, token, raw }) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
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
  let response;
  try {
    response = await fetch(url(nsid, params), init);
  } catch (e) {
    if (signal && signal.aborted) throw e;
    if (e && (e.name === 'TimeoutError' || e.name === 'AbortError')) throw new XrpcError(0, 'Timeout', 'timed out');
    throw new XrpcError(0, 'NetworkError', 'network unreachable');
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

/**
 * Calls `nsid`: a query when `body` is undefined, a procedure otherwise. `raw: true` returns the
 * `Response` (for CAR downloads). With `anonymous: true` no token is sent.
 */
export async function xrpc(nsid, { params, body, encoding, signal, raw, anonymous } = {}) {
  const token = !anonymous && auth ? await auth.token() : null;
  try {
    return await send(nsid, { params, body, encoding, signal, token, raw });
  } catch (e) {
    if (token && e instanceof XrpcError && e.error === 'ExpiredToken' && auth) {
      const fresh = await auth.refresh(token);
      if (fresh) return send(nsid, { params, body, encoding, signal, token: fresh, raw });
    }
    throw e;
  }
}

export const query = (nsid, params, options = {}) => xrpc(nsid, { ...options, params });
export const procedure = (nsid, body, options = {}) => xrpc(nsid, { ...options, body: body ?? {} });
