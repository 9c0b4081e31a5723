// An XRPC client with its own session, for a server other than the page's session: moving an
// account in talks to the old server (another origin: it must send CORS headers, as the reference
// PDS and skyhold do) and to this one as the new, not yet active account, without touching the
// signed-in session of lib/auth.js. Expired access tokens are refreshed once, and `onTokens`
// hears about new ones (the wizard keeps them to resume after a reload).

import { XrpcError } from './xrpc.js';

const TIMEOUT_MS = 120_000;

export class Remote {
  /** `base`: the server's origin ('' for this one); `tokens`: `{ accessJwt, refreshJwt }` or null. */
  constructor(base, tokens = null, onTokens = () => {}) {
    this.base = (base || '').replace(/\/+$/, '');
    this.tokens = tokens;
    this.onTokens = onTokens;
  }

  url(nsid, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value === undefined || value === null || value === '') continue;
      if (Array.isArray(value)) value.forEach((v) => query.append(key, v));
      else query.append(key, String(value));
    }
    const q = query.toString();
    return `${this.base}/xrpc/${nsid}${q ? `?${q}` : ''}`;
  }

  async send(nsid, { params, body, encoding, raw, token }) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const init = { method: body === undefined ? 'GET' : 'POST', headers, signal: AbortSignal.timeout(TIMEOUT_MS) };
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
      response = await fetch(this.url(nsid, params), init);
    } catch (e) {
      if (e && (e.name === 'TimeoutError' || e.name === 'AbortError')) throw new XrpcError(0, 'Timeout', 'timed out');
      throw new XrpcError(0, 'NetworkError', 'network unreachable');
    }
    if (!response.ok) {
      let payload = {};
      try {
        payload = await response.json();
      } catch {
        // Not JSON: the status says enough.
      }
      throw new XrpcError(response.status, payload.error || `Http${response.status}`, payload.message || response.statusText);
    }
    if (raw) return response;
    const type = response.headers.get('content-type') || '';
    if (type.includes('json')) return response.json();
    return {};
  }

  async refresh() {
    if (!this.tokens || !this.tokens.refreshJwt) return false;
    try {
      const fresh = await this.send('com.atproto.server.refreshSession', { body: {}, token: this.tokens.refreshJwt });
      this.tokens = { accessJwt: fresh.accessJwt, refreshJwt: fresh.refreshJwt };
      this.onTokens(this.tokens);
      return true;
    } catch {
      return false;
    }
  }

  /** A call with this client's session (or `token`, or none with `anonymous`). */
  async call(nsid, { params, body, encoding, raw, token, anonymous = false } = {}) {
    const bearer = token || (!anonymous && this.tokens ? this.tokens.accessJwt : null);
    try {
      return await this.send(nsid, { params, body, encoding, raw, token: bearer });
    } catch (e) {
      if (!token && bearer && e.error === 'ExpiredToken' && (await this.refresh())) {
        return this.send(nsid, { params, body, encoding, raw, token: this.tokens.accessJwt });
      }
      throw e;
    }
  }

  /** Signs in; keeps and returns the session. */
  async signIn(identifier, password, authFactorToken) {
    const session = await this.call('com.atproto.server.createSession', {
      body: { identifier, password, authFactorToken: authFactorToken || undefined },
      anonymous: true,
    });
    this.tokens = { accessJwt: session.accessJwt, refreshJwt: session.refreshJwt };
    this.onTokens(this.tokens);
    return session;
  }
}

/** The origin of a server named by host ("bsky.social") or URL; https unless the URL says http. */
export function serverOrigin(input) {
  const text = (input || '').trim();
  if (!text) return '';
  const url = new URL(/^https?:\/\//i.test(text) ? text : `https://${text}`);
  return url.origin;
}

/** The PDS endpoint a DID document names, if any. */
export function pdsEndpoint(didDoc) {
  const services = (didDoc && didDoc.service) || [];
  const pds = services.find((s) => (s.id === '#atproto_pds' || (s.id || '').endsWith('#atproto_pds')) && s.type === 'AtprotoPersonalDataServer');
  return pds && typeof pds.serviceEndpoint === 'string' ? pds.serviceEndpoint.replace(/\/+$/, '') : null;
}
