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
import { createAccount, signInWithForm, confirmPassword } from '../support/members.mjs';
import { gradientPng } from '../support/png.mjs';
import { peerImport } from '../support/peers.mjs';

const PASSWORD = 'correct horse battery';
const SCOPE = 'atproto transition:generic';

let node;
let browser;
let callback;
let member;

const DAY_MS = 24 * 60 * 60 * 1000;

/** An XRPC call with the member's password session, as any client makes it. */
async function xrpc(nsid, { body, token = member.accessJwt, dpop } = {}) {
  const response = await fetch(`${node.url}/xrpc/${nsid}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `${dpop ? 'DPoP' : 'Bearer'} ${token}`, 'content-type': 'application/json', ...(dpop ? { dpop } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** The member's connected app with this client id, from blue.skyhold.oauth.listApps. */
async function listedApp(clientId) {
  const { status, body } = await xrpc('blue.skyhold.oauth.listApps');
  assert.equal(status, 200, JSON.stringify(body));
  return body.apps.find((a) => a.clientId === clientId);
}

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

/**
 * A confidential web app on this machine: its client id is `https://app.localhost:PORT/…`
 * (the https form the spec and the library require); a node in local mode fetches such a
 * document from 127.0.0.1 over plain http (docs/OAUTH.md), which this server answers. Its key
 * set signs `private_key_jwt` client assertions.
 */
async function confidentialClient() {
  const { NodeOAuthClient } = await peerImport('@atproto/oauth-client-node');
  const { requestLocalLock } = await peerImport('@atproto/oauth-client');
  const { JoseKey } = await peerImport('@atproto/jwk-jose');
  const documents = new Map();
  const logoFetches = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (path === '/logo.png') {
      // Its logo, which the node fetches and serves from its own origin.
      logoFetches.push(req.headers['user-agent'] ?? '');
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(gradientPng(96, 96, 140));
      return;
    }
    const body = documents.get(path);
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(body ?? '{}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://app.localhost:${server.address().port}`;
  const sessions = memoryStore();
  const client = new NodeOAuthClient({
    clientMetadata: {
      client_id: `${origin}/client-metadata.json`,
      client_name: 'Olive Reader',
      client_uri: origin,
      logo_uri: `${origin}/logo.png`,
      redirect_uris: [`${origin}/callback`],
      scope: SCOPE,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      application_type: 'web',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      dpop_bound_access_tokens: true,
    },
    keyset: [await JoseKey.generate(['ES256'], 'olive-reader-1')],
    stateStore: memoryStore(),
    sessionStore: sessions,
    handleResolver: node.url,
    plcDirectoryUrl: `${node.url}/plc`,
    allowHttp: true,
    requestLock: requestLocalLock,
  });
  // The document the node fetches: the library's own metadata, key set inlined.
  documents.set('/client-metadata.json', JSON.stringify(client.clientMetadata));
  return { client, sessions, origin, server, logoFetches };
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

/**
 * Signs in and allows on the node's page; returns the query the browser was sent back to the
 * app's `redirect` with.
 */
async function signInAndAllow(page, redirect) {
  await page.getByLabel('Password').fill(PASSWORD);
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith(redirect)),
    page.getByRole('button', { name: /allow/i }).click(),
  ]);
  return new URL(request.url()).searchParams;
}

describe('OAuth sign-in in the browser', { concurrency: false }, () => {
  before(async () => {
    node = await startNode();
    member = await createAccount(node, 'olive.test', PASSWORD);
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

    const sent = await signInAndAllow(page, callback.url);
    await page.getByText('You can close this window.').waitFor();
    const params = callback.arrivals.at(-1);
    assert.equal(params?.toString(), sent.toString(), 'the app got what the browser was sent with');
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

    // The member sees the app in their list: a public client's session lasts two weeks at most.
    const listed = await listedApp(client.clientMetadata.client_id);
    assert.ok(listed, 'the app is listed');
    assert.equal(listed.loopback, true);
    assert.ok(listed.permissions.length > 0);
    assert.equal(Date.parse(listed.expiresAt) - Date.parse(listed.createdAt), 14 * DAY_MS, 'a public client: 2 weeks');

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

  it('a confidential client signs in with private_key_jwt and keeps its session up to 180 days', async () => {
    const { Agent } = await peerImport('@atproto/api');
    const { client, origin, server, logoFetches } = await confidentialClient();
    try {
      const authorizeUrl = await client.authorize('olive.test', { scope: SCOPE });
      const page = await newPage(browser, { viewport: PHONE });
      page.setDefaultTimeout(15_000);
      // (Its https callback is not served: the test reads the code from the request the browser
      // makes, as the app's server would.) The browser never asks the app's origin for anything.
      const foreign = [];
      page.on('request', (req) => { if (new URL(req.url()).origin === origin) foreign.push(req.url()); });
      await page.goto(authorizeUrl.href);
      await page.getByRole('heading', { name: 'Olive Reader wants to use your account' }).waitFor();
      await page.getByText(origin, { exact: true }).waitFor();
      assert.equal(await page.locator('img').evaluate((img) => img.naturalWidth), 96, 'the logo shows');
      const logoSrc = new URL(await page.locator('img').evaluate((img) => img.src));
      assert.equal(logoSrc.origin, node.url, 'the logo comes from the node, not the app');
      assert.equal(logoSrc.pathname, '/oauth/client-logo');
      assert.deepEqual(foreign, [], 'the page loads nothing from the app\'s origin');
      assert.equal(logoFetches.length, 1, 'the node fetched the logo once');
      assert.match(logoFetches[0], /^skyhold\//);
      assert.equal(await page.getByText('its name cannot be checked').count(), 0, 'a fetched client is not called unverifiable');
      assert.deepEqual(await seriousViolations(page), [], 'axe on the authorize page');
      await shot(page, 'oauth-authorize-web-app-360');
      await page.setViewportSize(DESKTOP);
      await shot(page, 'oauth-authorize-web-app-1280');
      const params = await signInAndAllow(page, `${origin}/callback`);
      const { session } = await client.callback(params);
      const agent = new Agent(session);
      await agent.post({ text: 'posted by a confidential client', createdAt: new Date().toISOString() });
      const refreshed = await session.getTokenInfo(true);
      assert.equal(refreshed.sub, session.did);
      await agent.post({ text: 'and after its refresh', createdAt: new Date().toISOString() });

      // A confidential client's session lasts 180 days at most; the list names the app.
      const clientId = client.clientMetadata.client_id;
      const listed = await listedApp(clientId);
      assert.equal(listed.clientName, 'Olive Reader');
      assert.equal(listed.clientUri, origin);
      assert.equal(listed.logoUri, `${origin}/logo.png`);
      assert.equal(Date.parse(listed.expiresAt) - Date.parse(listed.createdAt), 180 * DAY_MS, 'a confidential client: 180 days');
      // Neither an app password nor an OAuth app may see or disconnect the member's apps.
      const app = await xrpc('com.atproto.server.createAppPassword', { body: { name: 'other app' } });
      const appSession = await fetch(`${node.url}/xrpc/com.atproto.server.createSession`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: 'olive.test', password: app.body.password }),
      }).then((r) => r.json());
      const byAppPassword = await xrpc('blue.skyhold.oauth.listApps', { token: appSession.accessJwt });
      assert.equal(byAppPassword.status, 400, JSON.stringify(byAppPassword.body));
      const byOAuth = await session.fetchHandler('/xrpc/blue.skyhold.oauth.revokeApp', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clientId }),
      });
      assert.equal(byOAuth.status, 403, 'an OAuth app cannot disconnect apps');

      // The member disconnects it in the web UI's settings.
      const ui = await newPage(browser, { viewport: PHONE, baseURL: node.url });
      ui.setDefaultTimeout(15_000);
      await signInWithForm(ui, 'olive.test', PASSWORD);
      await ui.goto('/settings');
      await ui.getByRole('link', { name: /Connected apps/ }).click();
      // Seeing and disconnecting apps takes the password: no app permission covers it.
      await confirmPassword(ui, PASSWORD);
      const card = ui.getByRole('listitem').filter({ has: ui.getByRole('heading', { name: 'Olive Reader' }) });
      await card.waitFor();
      await card.getByText(origin, { exact: true }).waitFor();
      const tile = card.locator('img.app-tile');
      await tile.waitFor();
      await ui.waitForFunction((img) => img.complete && img.naturalWidth > 0, await tile.elementHandle());
      assert.equal(new URL(await tile.evaluate((img) => img.src)).origin, node.url, 'Connected apps shows the logo the node serves');
      await shot(ui, 'oauth-connected-apps-logo-360');
      await card.getByText(/Full access to your account's data/).waitFor();
      await card.getByText(/last active/).waitFor();
      assert.deepEqual(await seriousViolations(ui), [], 'axe on Connected apps');
      await shot(ui, 'connected-apps-360');
      await ui.setViewportSize(DESKTOP);
      await shot(ui, 'connected-apps-1280');
      await card.getByRole('button', { name: 'Disconnect Olive Reader' }).click();
      await ui.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
      await ui.getByText('Olive Reader disconnected').waitFor();
      await ui.getByText('No connected apps').first().waitFor();
      assert.deepEqual(ui.problems(), []);
      assert.equal(await listedApp(clientId), undefined);

      // Its tokens stopped working at once, the refresh token too.
      await assert.rejects(agent.post({ text: 'must not land', createdAt: new Date().toISOString() }), 'a disconnected app cannot post');
      await assert.rejects(session.getTokenInfo(true), 'a disconnected app cannot refresh');
    } finally {
      server.close();
    }
  });

  it('a browser that signed in before gets the account chooser, with JavaScript off too', async () => {
    const pearl = await createAccount(node, 'pearl.test', PASSWORD);
    const { client } = await oauthClient(callback.url);
    const context = await browser.newContext({ viewport: PHONE, javaScriptEnabled: false, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const signIn = async (input) => {
      await page.goto((await client.authorize(input, { scope: SCOPE })).href);
      await page.getByRole('heading', { level: 1 }).waitFor();
    };
    const finish = async () => {
      const params = await signInAndAllow(page, callback.url);
      return (await client.callback(params)).session;
    };

    // A first sign-in: the app named the account, so no chooser.
    const timed = performance.now();
    const pageRequests = [];
    page.on('request', (r) => r.url().startsWith(node.url) && pageRequests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    await signIn('olive.test');
    assert.equal(await page.getByText('Choose an account').count(), 0);
    assert.equal((await finish()).did, member.did);
    // docs/PERFORMANCE.md: one sign-in in the browser, the app's calls and the browser's together.
    console.log(`browser sign-in without screenshots: ${Math.round(performance.now() - timed)} ms; the browser's requests to the node: ${pageRequests.join(', ')}`);

    // The app lets the member pick (it starts from the server): the browser's account is offered.
    await signIn(node.url);
    await page.getByRole('heading', { name: 'Choose an account' }).waitFor();
    await page.getByRole('link', { name: '@olive.test', exact: true }).waitFor();
    assert.equal(await page.getByRole('link').count(), 2, 'the account, and another one');
    // (axe needs script, which this browser runs none of: the other pages are checked with it.)
    await shot(page, 'oauth-chooser-360');
    await page.getByRole('link', { name: 'Use another account' }).click();
    assert.equal(await page.getByLabel('Handle or email').inputValue(), '');
    await page.getByLabel('Handle or email').fill('pearl.test');
    assert.equal((await finish()).did, pearl.did);

    // Both are offered now, the latest first; choosing one fills its handle in.
    await signIn(node.url);
    const accounts = page.getByRole('link');
    assert.match(await accounts.nth(0).innerText(), /@pearl\.test/);
    assert.match(await accounts.nth(1).innerText(), /@olive\.test/);
    await page.setViewportSize(DESKTOP);
    await shot(page, 'oauth-chooser-1280');
    await page.getByRole('link', { name: /@olive\.test/ }).click();
    assert.equal(await page.getByLabel('Handle or email').inputValue(), 'olive.test');
    assert.equal((await finish()).did, member.did);
    await context.close();
  });
});
