// OAuth in a real browser: the official @atproto/oauth-client-node as a loopback public client
// (as a desktop or command-line app uses it) sends the member to the node's authorize page in
// Debian's Chromium; the member signs in and allows the app on skyhold's own page; the browser
// lands on the app's loopback callback and the client completes the flow. Then the client posts
// with DPoP through the official Agent, refreshes, signs out (revocation), and the revoked
// tokens stop working. The page is looked at on a phone and a desktop, and checked with axe.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startNode } from '../support/server.mjs';
import { launch, newPage, seriousViolations, shot, PHONE, DESKTOP } from '../support/browser.mjs';
import { createAccount } from '../support/members.mjs';
import { peerImport } from '../support/peers.mjs';

const PASSWORD = 'correct horse battery';
const SCOPE = 'atproto transition:generic';

let node;
let browser;
let callback;

/** The app's loopback redirect target: records what the browser brought back. */
function startCallback() {
  const arrivals = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/callback') arrivals.push(url.searchParams);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Signed in</title><p>You can close this window.</p>');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, arrivals, url: `http://127.0.0.1:${server.address().port}/callback` }));
  });
}

function memoryStore() {
  const map = new Map();
  return { map, get: async (k) => map.get(k), set: async (k, v) => void map.set(k, v), del: async (k) => void map.delete(k) };
}

async function oauthClient(redirect) {
  const { NodeOAuthClient } = await peerImport('@atproto/oauth-client-node');
  const { requestLocalLock } = await peerImport('@atproto/oauth-client');
  const sessions = memoryStore();
  const client = new NodeOAuthClient({
    clientMetadata: {
      client_id: `http://localhost?redirect_uri=${encodeURIComponent(redirect)}&scope=${encodeURIComponent(SCOPE)}`,
      redirect_uris: [redirect],
      scope: SCOPE,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      dpop_bound_access_tokens: true,
    },
    stateStore: memoryStore(),
    sessionStore: sessions,
    handleResolver: node.url,
    plcDirectoryUrl: `${node.url}/plc`,
    allowHttp: true,
    requestLock: requestLocalLock,
  });
  return { client, sessions };
}

describe('OAuth sign-in in the browser', { concurrency: false }, () => {
  before(async () => {
    node = await startNode();
    await createAccount(node, 'olive.test', PASSWORD);
    browser = await launch();
    callback = await startCallback();
  });

  after(async () => {
    await browser?.close();
    callback?.server.close();
    await node?.stop();
  });

  it('signs in with the official client, posts with DPoP, refreshes, and is revoked', async () => {
    const { Agent } = await peerImport('@atproto/api');
    const { client, sessions } = await oauthClient(callback.url);
    const started = performance.now();
    const authorizeUrl = await client.authorize('olive.test', { scope: SCOPE });
    assert.equal(authorizeUrl.origin, node.url, 'the node is its own authorization server');

    const page = await newPage(browser, { viewport: PHONE });
    const origins = new Set();
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    page.setDefaultTimeout(15_000);
    await page.goto(authorizeUrl.href);
    await page.getByRole('heading', { level: 1 }).waitFor();
    // The member sees which app asks, and what it may do, before typing anything.
    await page.getByText('An app on this computer', { exact: false }).first().waitFor();
    await page.getByText('127.0.0.1').first().waitFor();
    assert.equal(await page.getByLabel('Handle or email').inputValue(), 'olive.test', 'the handle the app was given is filled in');
    assert.deepEqual(await seriousViolations(page), [], 'axe on the authorize page');
    await shot(page, 'oauth-authorize-360');
    await page.setViewportSize(DESKTOP);
    await shot(page, 'oauth-authorize-1280');
    await page.setViewportSize(PHONE);

    // A wrong password is said on the page, which keeps the handle.
    await page.getByLabel('Password').fill('not my password');
    await page.getByRole('button', { name: /allow/i }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /Wrong handle or password/);
    assert.equal(await page.getByLabel('Handle or email').inputValue(), 'olive.test');
    await shot(page, 'oauth-authorize-error-360');

    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(callback.url)), page.getByRole('button', { name: /allow/i }).click()]);
    const params = callback.arrivals.at(-1);
    assert.ok(params?.get('code'), `the callback got a code: ${params}`);
    assert.equal(params.get('iss'), node.url);
    const { session } = await client.callback(params);
    const signInMs = Math.round(performance.now() - started);
    assert.match(session.did, /^did:/);
    assert.deepEqual(
      [...origins].sort(),
      [node.url, new URL(callback.url).origin].sort(),
      'the browser talked to the node and the app only',
    );
    assert.deepEqual(page.problems(), []);

    const agent = new Agent(session);
    const posted = await agent.post({ text: 'posted from a browser sign-in', createdAt: new Date().toISOString() });
    assert.ok(posted.uri.startsWith(`at://${session.did}/app.bsky.feed.post/`));
    const first = await session.getTokenInfo(false);
    const refreshed = await session.getTokenInfo(true);
    assert.equal(refreshed.sub, session.did);
    assert.ok(refreshed.scope.split(' ').includes('transition:generic'), refreshed.scope);
    assert.ok(refreshed.expiresAt >= first.expiresAt);
    await agent.post({ text: 'and after a refresh', createdAt: new Date().toISOString() });

    // Sign out (revocation); the tokens the client held stop working on the node.
    const saved = structuredClone(sessions.map.get(session.did));
    await session.signOut();
    sessions.map.set(session.did, saved);
    const revived = await client.restore(session.did, false);
    await assert.rejects(
      new Agent(revived).com.atproto.repo.createRecord({
        repo: session.did,
        collection: 'app.bsky.feed.post',
        record: { $type: 'app.bsky.feed.post', text: 'must not land', createdAt: new Date().toISOString() },
      }),
      'a revoked session cannot post',
    );
    console.log(`browser sign-in (authorize → page → callback → tokens): ${signInMs} ms`);
  });
});
