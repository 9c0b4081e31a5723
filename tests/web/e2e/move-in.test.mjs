// Moving an account in through the browser, against real binaries: node B hosts the PLC directory
// and is the new home; node A is the old server. The member opens B's /move-in, signs in to A from
// the page (a cross-origin XRPC client of A), creates the account on B with a service-auth token
// from A, and the wizard imports the repo, copies the image and the settings, asks A for the
// emailed code, has A sign the identity change that B submits, activates the account on B and
// deactivates it on A. A reload in the middle resumes where it stopped. Afterwards the DID
// document names B, B serves the posts and the image, A reports the account deactivated, a
// follower's follow still points at the same identity, and the member is signed in on B.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode } from '../support/server.mjs';
import { launch, newPage, seriousViolations, shot, PHONE, DESKTOP } from '../support/browser.mjs';
import { createAccount, createRecord, signInOnServerPage } from '../support/members.mjs';
import { gradientPng } from '../support/png.mjs';

const PASSWORD = 'correct horse battery';

let a;
let b;
let browser;
let page;
let ivy;
let imageCid;
let imageBytes;

/** Problems other than the calls the wizard makes to the old server on purpose. */
function problems() {
  const old = new URL(a.url).origin;
  return page.problems().filter((p) => !p.startsWith(`request to another origin: ${old}/xrpc/`));
}

async function check(name, { phoneToo = false } = {}) {
  await page.waitForLoadState('networkidle');
  assert.deepEqual(await seriousViolations(page), [], `axe on ${name}`);
  await shot(page, `${name}-${page.viewportSize().width}`);
  if (phoneToo) {
    const viewport = page.viewportSize();
    await page.setViewportSize(PHONE);
    assert.deepEqual(await seriousViolations(page), [], `axe on ${name} at phone width`);
    await shot(page, `${name}-${PHONE.width}`);
    await page.setViewportSize(viewport);
  }
  assert.deepEqual(problems(), [], `page problems on ${name}`);
}

function step(name, fn) {
  it(name, async () => {
    try {
      await fn();
    } catch (error) {
      if (page && !page.isClosed()) await shot(page, 'FAILED-move-in').catch(() => {});
      throw error;
    }
  });
}

async function pendingCode(node, did) {
  for (let i = 0; i < 60; i++) {
    const { codes } = await node.pendingCodes();
    const mine = codes.find((c) => c.did === did && /plc/i.test(c.purpose));
    if (mine) return mine.token;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no PLC code for ${did}`);
}

describe('a member moves their account in through the browser', { concurrency: false }, () => {
  before(async () => {
    b = await startNode();
    a = await startNode(['--plc-url', `${b.url}/plc`]);
    browser = await launch();
    page = await newPage(browser, { viewport: DESKTOP, baseURL: b.url });
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await a?.stop();
    await b?.stop();
  });

  step('on the old server: posts, an image, settings and a follower', async () => {
    ivy = await createAccount(a, 'ivy.test');
    imageBytes = gradientPng(80, 60, 90);
    const uploaded = await fetch(`${a.url}/xrpc/com.atproto.repo.uploadBlob`, {
      method: 'POST',
      headers: { 'content-type': 'image/png', authorization: `Bearer ${ivy.accessJwt}` },
      body: imageBytes,
    }).then((r) => r.json());
    imageCid = uploaded.blob.ref.$link;
    await createRecord(a, ivy, 'app.bsky.feed.post', {
      text: 'Harvest at the community garden',
      embed: { $type: 'app.bsky.embed.images', images: [{ image: uploaded.blob, alt: 'Pumpkins in a row', aspectRatio: { width: 80, height: 60 } }] },
    });
    await createRecord(a, ivy, 'app.bsky.feed.post', { text: 'Moving servers soon' });
    const put = await fetch(`${a.url}/xrpc/app.bsky.actor.putPreferences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ivy.accessJwt}` },
      body: JSON.stringify({ preferences: [{ $type: 'app.bsky.actor.defs#mutedWordsPref', items: [{ value: 'slugs', targets: ['content'] }] }] }),
    });
    assert.equal(put.status, 200);
    const jo = await createAccount(a, 'joan.test');
    await createRecord(a, jo, 'app.bsky.graph.follow', { subject: ivy.did });
  });

  step('the wizard signs in to the old server and creates the account here', async () => {
    await page.goto('/move-in');
    await page.getByRole('heading', { name: 'Move your account here', level: 1 }).waitFor();
    await check('move-in-start', { phoneToo: true });
    await page.getByLabel('Current server').fill(a.url);
    await page.getByLabel('Handle or email there').fill('ivy.test');
    await page.getByLabel('Password there').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in there' }).click();
    await page.getByLabel('Handle here').waitFor();
    await check('move-in-account', { phoneToo: true });
    await page.getByLabel('Handle here').fill('ivy');
    await page.getByLabel('Password here').fill('a brand new password');
    await page.getByRole('button', { name: 'Create and start copying' }).click();
    // Repo, images and settings copy by themselves; then the identity change needs the code.
    await page.getByLabel('Code from the email').waitFor({ timeout: 60_000 });
    await check('move-in-code');
  });

  step('a reload resumes at the same step', async () => {
    await page.reload();
    await page.getByLabel('Code from the email').waitFor();
    assert.equal(await page.getByRole('progressbar').getAttribute('value'), '5', 'five steps done');
  });

  step('the code from the old server moves the identity, and the account is home', async () => {
    const code = await pendingCode(a, ivy.did);
    await page.getByLabel('Code from the email').fill(code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Welcome to your new home' }).waitFor({ timeout: 60_000 });
    await check('move-in-done', { phoneToo: true });

    const data = await fetch(`${b.url}/plc/${ivy.did}/data`).then((r) => r.json());
    assert.equal(data.services.atproto_pds.endpoint, b.url, JSON.stringify(data));
    const status = await fetch(`${b.url}/xrpc/com.atproto.sync.getRepoStatus?did=${ivy.did}`).then((r) => r.json());
    assert.equal(status.active, true, JSON.stringify(status));
    const old = await fetch(`${a.url}/xrpc/com.atproto.sync.getRepoStatus?did=${ivy.did}`).then((r) => r.json());
    assert.equal(old.active, false, `deactivated on the old server: ${JSON.stringify(old)}`);
    assert.equal(old.status, 'deactivated');

    const posts = await fetch(`${b.url}/xrpc/com.atproto.repo.listRecords?repo=${ivy.did}&collection=app.bsky.feed.post`).then((r) => r.json());
    assert.deepEqual(posts.records.map((r) => r.value.text).sort(), ['Harvest at the community garden', 'Moving servers soon']);
    const blob = await fetch(`${b.url}/xrpc/com.atproto.sync.getBlob?did=${ivy.did}&cid=${imageCid}`);
    assert.equal(blob.status, 200);
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), imageBytes);
    // The follower's follow names the identity, which moved with the account.
    const follows = await fetch(`${a.url}/xrpc/com.atproto.repo.listRecords?repo=joan.test&collection=app.bsky.graph.follow`).then((r) => r.json());
    assert.equal(follows.records[0].value.subject, ivy.did);
  });

  step('the member is signed in here with their posts, image and settings', async () => {
    // The move's password session ends with it; the member signs in here through the node's page.
    await page.getByRole('button', { name: 'Sign in here' }).click();
    await signInOnServerPage(page, 'a brand new password');
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await page.goto('/profile/ivy.test');
    await page.getByText('Harvest at the community garden').waitFor();
    const image = page.getByRole('button', { name: /Pumpkins in a row/ }).locator('img');
    await image.waitFor();
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await image.elementHandle());
    await check('move-in-profile');
    const session = JSON.parse(await page.evaluate(() => JSON.stringify(Object.fromEntries(Object.entries(localStorage)))));
    assert.ok(JSON.stringify(session).includes(ivy.did), 'the page holds the new session');
    // Settings came along (read with the new server's session).
    const signIn = await fetch(`${b.url}/xrpc/com.atproto.server.createSession`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: ivy.did, password: 'a brand new password' }),
    }).then((r) => r.json());
    const prefs = await fetch(`${b.url}/xrpc/app.bsky.actor.getPreferences`, { headers: { authorization: `Bearer ${signIn.accessJwt}` } }).then((r) => r.json());
    assert.ok(JSON.stringify(prefs).includes('slugs'), JSON.stringify(prefs));
  });
});
