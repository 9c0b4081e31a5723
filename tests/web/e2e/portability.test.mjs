// Surviving the loss of a server, from the browser, against real binaries: node B hosts the PLC
// directory, node A the member's account. On A the member makes a paper recovery key in the page
// (the PLC log then lists it first among the rotation keys) and downloads a backup archive (repo,
// images, mirror.json); `skyhold mirror` keeps a verified copy on their computer and picks up a
// later post incrementally. Then A is killed, and `skyhold recover` with the paper key as printed
// and the mirror brings the account up on B: the DID document names B, the posts and the image
// are there, and the member signs in to B's web UI and sees their post.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, binary } from '../support/server.mjs';
import { launch, newPage, seriousViolations, shot, PHONE, DESKTOP } from '../support/browser.mjs';
import { createAccount, createRecord, signInWithForm } from '../support/members.mjs';
import { gradientPng } from '../support/png.mjs';

const PASSWORD = 'correct horse battery';

let a;
let b;
let browser;
let page;
let gus;
let dir;
let paperKey;
let didKey;
let imageCid;
let imageBytes;

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
  assert.deepEqual(page.problems(), [], `page problems on ${name}`);
}

function step(name, fn) {
  it(name, async () => {
    try {
      await fn();
    } catch (error) {
      if (page && !page.isClosed()) await shot(page, 'FAILED-portability').catch(() => {});
      throw error;
    }
  });
}

function run(...args) {
  return execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function plcData(did) {
  const response = await fetch(`${b.url}/plc/${did}/data`);
  assert.equal(response.status, 200);
  return response.json();
}

describe('a member keeps their account safe and recovers it elsewhere', { concurrency: false }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skyhold-portability-'));
    b = await startNode();
    a = await startNode(['--plc-url', `${b.url}/plc`]);
    browser = await launch();
    page = await newPage(browser, { viewport: DESKTOP, baseURL: a.url });
    page.setDefaultTimeout(15_000);
  });

  after(async () => {
    await browser?.close();
    await a?.stop();
    await b?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  step('a member with a post and an image', async () => {
    gus = await createAccount(a, 'gus.test');
    imageBytes = gradientPng(64, 48, 30);
    const uploaded = await fetch(`${a.url}/xrpc/com.atproto.repo.uploadBlob`, {
      method: 'POST',
      headers: { 'content-type': 'image/png', authorization: `Bearer ${gus.accessJwt}` },
      body: imageBytes,
    }).then((r) => r.json());
    imageCid = uploaded.blob.ref.$link;
    await createRecord(a, gus, 'app.bsky.feed.post', {
      text: 'Sunset over the allotments',
      embed: { $type: 'app.bsky.embed.images', images: [{ image: uploaded.blob, alt: 'A gradient sky', aspectRatio: { width: 64, height: 48 } }] },
    });
  });

  step('they make a paper recovery key and it becomes the first rotation key', async () => {
    await signInWithForm(page, 'gus.test');
    await page.goto('/settings');
    await page.getByRole('link', { name: /Recovery key/ }).click();
    await page.getByRole('heading', { name: 'Recovery key', level: 1 }).waitFor();
    await check('recovery-key-intro', { phoneToo: true });
    await page.getByRole('button', { name: 'Make a recovery key' }).click();
    const secret = page.getByLabel('Your recovery key');
    await secret.waitFor();
    paperKey = (await secret.textContent()).trim();
    assert.match(paperKey, /^z[1-9A-HJ-NP-Za-km-z]{3}(\s+[1-9A-HJ-NP-Za-km-z]{1,4})+$/, 'grouped for writing down');
    didKey = (await page.locator('.print-sheet .mono').first().textContent()).trim();
    assert.match(didKey, /^did:key:z/);
    await check('recovery-key-sheet', { phoneToo: true });

    const add = page.getByRole('button', { name: 'Add it to my identity' });
    assert.equal(await add.isDisabled(), true, 'not before the member says the key is kept');
    await page.getByLabel('I have printed or written down the key and keep it safe').check();
    await add.click();
    // No mail on this node: the code waits for the admin to pass on.
    const code = await (async () => {
      for (let i = 0; i < 40; i++) {
        const { codes } = await a.pendingCodes();
        const mine = codes.find((c) => c.did === gus.did && /plc/i.test(c.purpose));
        if (mine) return mine.token;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('no PLC code was issued');
    })();
    await page.getByLabel('Code', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Add the recovery key' }).click();
    await page.getByRole('heading', { name: 'Your recovery key is in place' }).waitFor();
    assert.equal(await page.getByLabel('Your recovery key').count(), 0, 'the secret is gone from the page');
    await check('recovery-key-done');

    const data = await plcData(gus.did);
    assert.equal(data.rotationKeys[0], didKey, JSON.stringify(data));
    assert.ok(data.rotationKeys.length >= 2, 'the server keeps its own key too');
    const log = await fetch(`${b.url}/plc/${gus.did}/log/audit`).then((r) => r.json());
    assert.equal(log.length, 2, 'creation and the key');
  });

  step('they download a backup archive of their repo and images', async () => {
    await page.goto('/settings/backup');
    await page.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
    await check('backup', { phoneToo: true });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download a backup' }).click()]);
    assert.match(download.suggestedFilename(), /^gus\.test-\d{4}-\d\d-\d\d\.tar$/);
    const archive = join(dir, 'gus.tar');
    await download.saveAs(archive);
    const listed = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).trim().split('\n').sort();
    assert.deepEqual(listed, ['blobs/' + imageCid, 'mirror.json', 'repo.car'].sort());
    const out = join(dir, 'unpacked');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', archive, '-C', out]);
    assert.deepEqual(readFileSync(join(out, 'blobs', imageCid)), imageBytes, 'the image byte for byte');
    const state = JSON.parse(readFileSync(join(out, 'mirror.json'), 'utf8'));
    assert.equal(state.did, gus.did);
    // The repo in the archive is a whole, signed repository.
    assert.match(run('repo', 'verify', join(out, 'repo.car'), '--did', gus.did, '--plc-url', `${b.url}/plc`), new RegExp(`did:\\s+${gus.did}`));
    await page.getByRole('status').getByText(/Ready/).waitFor();
  });

  step('the move-out page says what moves and what the new server asks for', async () => {
    await page.goto('/settings/move-out');
    await page.getByRole('heading', { name: 'Move to another server', level: 1 }).waitFor();
    await page.getByText(a.url, { exact: true }).waitFor();
    await page.getByText(gus.did, { exact: true }).waitFor();
    await check('move-out', { phoneToo: true });
  });

  step('skyhold mirror keeps a verified copy and fetches only what changed', async () => {
    const mirror = join(dir, 'mirror');
    const args = ['mirror', '--account', 'gus.test', '--dir', mirror, '--pds', a.url, '--plc-url', `${b.url}/plc`];
    const first = run(...args.map((x) => (x === 'gus.test' ? gus.did : x)));
    assert.match(first, /full copy.*1 blobs \(1 new\), signature and \d+ blocks verified/, first);
    await createRecord(a, gus, 'app.bsky.feed.post', { text: 'Second post, after the first mirror' });
    const second = run('mirror', '--dir', mirror, '--pds', a.url, '--plc-url', `${b.url}/plc`);
    assert.match(second, /changes since the last run.*1 blobs \(0 new\)/, `an incremental run: ${second}`);
    assert.ok(existsSync(join(mirror, 'blobs', imageCid)));
  });

  step('with A gone, the paper key and the mirror bring the account up on B', async () => {
    await a.stop();
    a = null;
    const keyFile = join(dir, 'paper-key.txt');
    // Typed back from paper: the groups as printed.
    writeFileSync(keyFile, `${paperKey}\n`);
    const out = execFileSync(
      binary,
      ['recover', '--from', join(dir, 'mirror'), '--rotation-key', keyFile, '--pds', b.url, '--handle', 'gus.test', '--email', 'gus-new@example.com', '--plc-url', `${b.url}/plc`],
      { encoding: 'utf8', env: { ...process.env, SKYHOLD_RECOVER_PASSWORD: PASSWORD } },
    );
    assert.match(out, new RegExp(gus.did), out);

    const data = await plcData(gus.did);
    assert.equal(data.services.atproto_pds.endpoint, b.url, JSON.stringify(data));
    assert.equal(data.rotationKeys[0], didKey, 'the paper key is still first');
    const posts = await fetch(`${b.url}/xrpc/com.atproto.repo.listRecords?repo=${gus.did}&collection=app.bsky.feed.post`).then((r) => r.json());
    assert.deepEqual(posts.records.map((r) => r.value.text).sort(), ['Second post, after the first mirror', 'Sunset over the allotments']);
    const blob = await fetch(`${b.url}/xrpc/com.atproto.sync.getBlob?did=${gus.did}&cid=${imageCid}`);
    assert.equal(blob.status, 200);
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), imageBytes);

    // The member signs in to B's web UI and finds their posts.
    await page.context().close();
    page = await newPage(browser, { viewport: PHONE, baseURL: b.url });
    page.setDefaultTimeout(15_000);
    await signInWithForm(page, 'gus.test');
    await page.goto('/profile/gus.test');
    await page.getByText('Sunset over the allotments').waitFor();
    const image = page.getByRole('button', { name: /A gradient sky/ }).locator('img');
    await image.waitFor();
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await image.elementHandle());
    await check('recovered-profile');
  });
});
