// The web UI as an OAuth client of its own node, in Debian's Chromium against the real binary:
// the member signs in on the node's own page (the UI never sees the password), every call carries
// the DPoP-bound token with a fresh proof signed by a key the page cannot read out, a token the
// node no longer takes is refreshed once even with two tabs open (a refresh token used twice
// would end the session), signing out revokes the session on the node, and what no app
// permission covers (app passwords here) takes the password again, checked by the node.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode } from '../support/server.mjs';
import { launch, newPage, seriousViolations, shot, PHONE, DESKTOP } from '../support/browser.mjs';
import { createAccount, signInWithForm, confirmPassword } from '../support/members.mjs';

const PASSWORD = 'correct horse battery';
const SESSION = 'skyhold.session';

let node;
let browser;
let page;
let member;
let client; // the UI's client metadata document

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

async function stored(p = page) {
  return JSON.parse(await p.evaluate((key) => localStorage.getItem(key), SESSION));
}

/** The apps the member authorized, read with a password session as any client would. */
async function apps() {
  const response = await fetch(`${node.url}/xrpc/blue.skyhold.oauth.listApps`, { headers: { authorization: `Bearer ${member.accessJwt}` } });
  assert.equal(response.status, 200);
  return (await response.json()).apps;
}

async function look(p, name) {
  assert.deepEqual(await seriousViolations(p), [], `axe on ${name}`);
  const viewport = p.viewportSize();
  await shot(p, `${name}-${viewport.width}`);
  await p.setViewportSize(viewport.width === PHONE.width ? DESKTOP : PHONE);
  await shot(p, `${name}-${viewport.width === PHONE.width ? DESKTOP.width : PHONE.width}`);
  await p.setViewportSize(viewport);
}

/**
 * Changes the stored tokens as time or the node would: `change` is 'expired' (the page thinks
 * the access token ran out) or 'refused' (the node no longer takes it). Both copies, the one a
 * refresh decides on (IndexedDB) and the one a reload starts from (localStorage).
 */
function spoil(p, change) {
  return p.evaluate(async (change) => {
    const edit = (t) =>
      change === 'expired' ? { ...t, expiresAt: Date.now() - 1000 } : { ...t, accessToken: `${t.accessToken.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}` };
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('skyhold-oauth');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const store = () => db.transaction('keys', 'readwrite').objectStore('keys');
    const tokens = await new Promise((resolve) => (store().get('tokens').onsuccess = (e) => resolve(e.target.result)));
    const changed = edit(tokens);
    await new Promise((resolve) => (store().put(changed, 'tokens').onsuccess = resolve));
    db.close();
    const view = JSON.parse(localStorage.getItem('skyhold.session'));
    localStorage.setItem('skyhold.session', JSON.stringify({ ...view, ...changed }));
  }, change);
}

describe('the web UI signs in with OAuth', { concurrency: false }, () => {
  before(async () => {
    node = await startNode();
    member = await createAccount(node, 'wren.test', PASSWORD);
    browser = await launch();
    page = await newPage(browser, { viewport: PHONE, baseURL: node.url });
    page.setDefaultTimeout(15_000);
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
  });

  it('publishes its client metadata and signs in on the node page', async () => {
    const response = await fetch(`${node.url}/oauth/client-metadata.json`);
    assert.equal(response.status, 200);
    client = await response.json();
    assert.equal(client.client_id, `${node.url}/oauth/client-metadata.json`);
    assert.deepEqual(client.redirect_uris, [`${node.url}/signin/callback`]);
    assert.equal(client.token_endpoint_auth_method, 'none');
    assert.equal(client.dpop_bound_access_tokens, true);
    assert.equal(client.scope, 'atproto transition:generic account:email?action=manage account:repo?action=manage identity:*');

    await page.goto('/signin');
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    await look(page, 'webauth-signin');
    await page.getByLabel('Handle or email').fill('wren');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/oauth\/authorize\?/);
    // The node's page names the app and says each permission in words.
    await page.getByText(client.client_name).first().waitFor();
    await page.getByText('Change your handle and your whole identity', { exact: false }).first().waitFor();
    assert.equal(await page.getByLabel('Handle or email').inputValue(), 'wren.test');
    await look(page, 'webauth-consent');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in and allow' }).click();
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/', 'the code left the address bar');

    const session = await stored();
    assert.equal(session.did, member.did);
    assert.equal(session.handle, 'wren.test');
    assert.equal(session.accessJwt, undefined, 'no password session');
    const token = claims(session.accessToken);
    assert.equal(token.client_id, client.client_id);
    assert.equal(token.scope, client.scope);
    assert.ok(token.cnf && token.cnf.jkt, 'the token is bound to a DPoP key');
    // The key signs, and cannot be read out of the page.
    const extractable = await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open('skyhold-oauth');
          open.onsuccess = () => {
            const get = open.result.transaction('keys').objectStore('keys').get('dpop');
            get.onsuccess = () => resolve(get.result.privateKey.extractable);
            get.onerror = () => reject(get.error);
          };
          open.onerror = () => reject(open.error);
        }),
    );
    assert.equal(extractable, false);
    const listed = (await apps()).find((a) => a.clientId === client.client_id);
    assert.ok(listed, 'the node lists the web app among the authorized apps');
    assert.equal(listed.scope, client.scope);
    assert.deepEqual(page.problems(), []);
  });

  it('sends the DPoP-bound token with a fresh proof on every call', async () => {
    const sent = [];
    const record = (r) => r.url().includes('/xrpc/') && sent.push(r.headers());
    page.on('request', record);
    await page.goto('/profile/wren.test');
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await page.waitForLoadState('networkidle');
    page.off('request', record);
    const signed = sent.filter((h) => h.authorization);
    assert.ok(signed.length >= 2, `calls with credentials: ${signed.length}`);
    for (const h of signed) {
      assert.match(h.authorization, /^DPoP [\w-]+\.[\w-]+\.[\w-]+$/);
      assert.match(h.dpop, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    }
    assert.equal(new Set(signed.map((h) => h.dpop)).size, signed.length, 'one proof per request');
    const proof = claims(signed[0].dpop);
    assert.ok(proof.ath && proof.nonce && proof.jti && proof.htu.startsWith(`${node.url}/xrpc/`), JSON.stringify(proof));
    // The token alone is worth nothing.
    const token = (await stored()).accessToken;
    const bare = await fetch(`${node.url}/xrpc/com.atproto.server.getSession`, { headers: { authorization: `Bearer ${token}` } });
    assert.notEqual(bare.status, 200);
  });

  it('refreshes an expired token, once for two tabs together', async () => {
    const refreshes = [];
    const record = (r) => r.url().endsWith('/oauth/token') && refreshes.push(r.postData() || '');
    page.on('request', record);
    // Expired (as far as the page knows): it refreshes before calling.
    const first = await stored();
    await spoil(page, 'expired');
    await page.reload();
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await page.waitForLoadState('networkidle');
    assert.equal(refreshes.filter((b) => b.includes('grant_type=refresh_token')).length, 1);
    const second = await stored();
    assert.notEqual(second.refreshToken, first.refreshToken, 'the refresh token rotated');

    // Two tabs, and a token the node refuses (as it refuses a revoked or expired one): only one
    // tab spends the refresh token, the other takes up its result.
    const other = await page.context().newPage();
    other.on('request', record);
    await other.goto('/');
    await other.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    refreshes.length = 0;
    // The other tab loads at the same moment (a tab busy refreshing while it navigates away
    // loses the new refresh token: docs/OAUTH.md, "Not yet").
    await other.goto('about:blank');
    await spoil(page, 'refused');
    await Promise.all([page.goto('/notifications'), other.goto('/settings')]);
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    await other.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await Promise.all([page.waitForLoadState('networkidle'), other.waitForLoadState('networkidle')]);
    assert.equal(refreshes.filter((b) => b.includes('grant_type=refresh_token')).length, 1, 'one refresh for both tabs');
    const third = await stored();
    assert.notEqual(third.refreshToken, second.refreshToken);
    // Both tabs still work: a refresh token used twice would have ended the session.
    await Promise.all([page.goto('/saved'), other.goto('/search')]);
    await page.getByRole('heading', { name: 'Saved posts', level: 1 }).waitFor();
    await other.getByRole('heading', { name: 'Search', level: 1 }).waitFor();
    assert.ok((await apps()).some((a) => a.clientId === client.client_id), 'the session is alive');
    assert.equal(await page.getByRole('link', { name: 'Sign in' }).count(), 0);
    page.off('request', record);
    await other.close();
    assert.deepEqual(page.problems(), []);
  });

  it('takes the password again for app passwords, which the node checks', async () => {
    const used = [];
    const record = (r) => r.url().includes('AppPassword') && used.push(r.headers().authorization || '');
    page.on('request', record);
    await page.goto('/settings/app-passwords');
    const dialog = page.getByRole('dialog', { name: 'Confirm your password' });
    await dialog.waitFor();
    await look(page, 'webauth-password');
    await dialog.getByLabel('Your password').fill('not my password');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('alert').getByText("That password isn't right.").waitFor();
    await confirmPassword(page, PASSWORD);
    await page.getByText('No app passwords yet').waitFor();
    await page.getByLabel('Name').fill('Laptop');
    await page.getByRole('button', { name: 'Create app password' }).click();
    await page.getByLabel('The new app password').waitFor();
    page.off('request', record);
    assert.ok(used.length >= 2 && used.every((a) => a.startsWith('Bearer ')), `the password-confirmed session made those calls: ${used}`);
    // The UI's OAuth session alone cannot: no app permission covers app passwords.
    const refused = await page.evaluate(async () => {
      const app = document.querySelector('script[type="module"][src$="app.js"]').src;
      const oauth = await import(app.replace(/app\.js$/, 'lib/oauth.js'));
      const session = JSON.parse(localStorage.getItem('skyhold.session'));
      const path = '/xrpc/com.atproto.server.listAppPasswords';
      const response = await fetch(path, { headers: { authorization: `DPoP ${session.accessToken}`, dpop: await oauth.proof('GET', path, session.accessToken) } });
      return { status: response.status, body: await response.json() };
    });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.deepEqual(page.problems(), []);
  });

  it('signing out revokes the session on the node', async () => {
    // Proofs made beforehand by the page's own key, to try the old tokens afterwards.
    const { token, refresh, getProof, tokenProof } = await page.evaluate(async () => {
      const app = document.querySelector('script[type="module"][src$="app.js"]').src;
      const oauth = await import(app.replace(/app\.js$/, 'lib/oauth.js'));
      const session = JSON.parse(localStorage.getItem('skyhold.session'));
      return {
        token: session.accessToken,
        refresh: session.refreshToken,
        getProof: await oauth.proof('GET', '/xrpc/com.atproto.server.getSession', session.accessToken),
        tokenProof: await oauth.proof('POST', '/oauth/token'),
      };
    });
    await page.goto('/settings');
    await page.getByRole('button', { name: 'Sign out' }).click();
    // Signed out once the node has revoked the session.
    await page.waitForFunction((key) => localStorage.getItem(key) === null, SESSION);
    await page.getByRole('link', { name: 'Sign in', exact: true }).first().waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('skyhold.elevated')), null, 'the password-confirmed session ended too');

    const old = await fetch(`${node.url}/xrpc/com.atproto.server.getSession`, { headers: { authorization: `DPoP ${token}`, dpop: getProof } });
    assert.equal(old.status, 401);
    assert.match((await old.json()).message, /revoked/);
    const again = await fetch(`${node.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: tokenProof },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, client_id: client.client_id }),
    });
    assert.equal(again.status, 400);
    assert.equal((await again.json()).error, 'invalid_grant');
    assert.equal((await apps()).find((a) => a.clientId === client.client_id), undefined, 'no session of the web app is left');
  });

  it('a cancelled sign-in comes back to the UI in words', async () => {
    await page.goto('/signin');
    await page.getByLabel('Handle or email').fill('wren.test');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/oauth\/authorize\?/);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('alert').getByText('Sign-in was cancelled.').waitFor();
    await look(page, 'webauth-denied');
    await signInWithForm(page, 'wren.test', PASSWORD);
    assert.deepEqual(page.problems(), []);
  });
});
