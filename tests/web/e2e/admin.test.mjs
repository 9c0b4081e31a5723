// The admin console in Chromium against the real binary: an admin (the role granted with
// `skyhold admin grant`) signs in with the account's own password, creates an invite link, a new
// member signs up through it and posts, a second member reports the post, the report is in the
// inbox, the admin takes the post down with a reason and it disappears for everyone (timeline,
// thread, public page), and the audit log shows both actions. A suspended member cannot sign in
// and reads why and until when. The admin sets a new password for a member and deletes an account,
// has the relay follow a second node and bans it. The node tells two relays about itself
// (--crawlers): one takes the request and follows it, the other is down and shows as failing, in
// the network page and on the overview. An app-password session of the admin carries no admin
// powers; /metrics answers the operator with the same figures.
// Every console view is checked with axe-core and photographed at phone and desktop width.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { startNode, binary } from '../support/server.mjs';
import { launch, newPage, seriousViolations, shot, PHONE, DESKTOP } from '../support/browser.mjs';
import { createAccount, signInWithForm } from '../support/members.mjs';

const PASSWORD = 'correct horse battery';

let node;
let hub; // a second node whose relay is one of the node's crawlers
let deadCrawler; // a crawler URL where nothing listens
let browser;
let boss; // the admin, desktop
let cleo; // a new member, phone
let dan; // the reporter, desktop
let postPath;
let inviteUrl;

async function check(page, name, { phoneToo = false } = {}) {
  await page.waitForLoadState('networkidle');
  await page.locator('.spinner').first().waitFor({ state: 'detached', timeout: 15_000 }).catch(() => {});
  assert.deepEqual(await seriousViolations(page), [], `axe on ${name}`);
  const viewport = page.viewportSize();
  await shot(page, `${name}-${viewport.width}`);
  if (phoneToo) {
    await page.setViewportSize(PHONE);
    assert.deepEqual(await seriousViolations(page), [], `axe on ${name} at phone width`);
    await shot(page, `${name}-${PHONE.width}`);
    await page.setViewportSize(viewport);
  }
  assert.deepEqual(page.problems(), [], `page problems on ${name}`);
}

/** A loopback port nothing listens on (bound, then let go). */
function closedPort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The CLI, as an operator runs it against the running server. */
function cli(...args) {
  return execFileSync(binary, [...args, '--server', node.url], {
    env: { ...process.env, SKYHOLD_ADMIN_PASSWORD: node.adminPassword },
    encoding: 'utf8',
  });
}

async function eventually(fn, what, timeoutMs = 15_000) {
  const start = Date.now();
  for (;;) {
    const value = await fn().catch(() => null);
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function step(name, fn) {
  it(name, async () => {
    try {
      await fn();
    } catch (error) {
      for (const [who, page] of [['boss', boss], ['cleo', cleo], ['dan', dan]]) {
        if (page && !page.isClosed()) await shot(page, `FAILED-admin-${who}`).catch(() => {});
      }
      throw error;
    }
  });
}

describe('an admin runs the community from the console', { concurrency: false }, () => {
  before(async () => {
    hub = await startNode();
    deadCrawler = `http://127.0.0.1:${await closedPort()}`;
    node = await startNode(['--invite-required', 'true', '--crawlers', `${hub.relayUrl},${deadCrawler}`]);
    browser = await launch();
    boss = await newPage(browser, { viewport: DESKTOP, baseURL: node.url });
    cleo = await newPage(browser, { viewport: PHONE, baseURL: node.url });
    dan = await newPage(browser, { viewport: DESKTOP, baseURL: node.url });
    for (const page of [boss, cleo, dan]) page.setDefaultTimeout(15_000);
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    await hub?.stop();
  });

  step('the operator makes an account an admin with the command line', async () => {
    const out = cli('account', 'create', '--handle', 'boss.test', '--email', 'boss@example.com', '--password', PASSWORD);
    assert.match(out, /boss\.test/);
    assert.match(cli('admin', 'grant', 'boss.test'), /is now an admin/);
    assert.match(cli('admin', 'list'), /boss\.test/);
  });

  step('an app-password session of the admin carries no admin powers', async () => {
    const login = async (password) => {
      const r = await fetch(`${node.url}/xrpc/com.atproto.server.createSession`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: 'boss.test', password }),
      });
      return r.json();
    };
    const full = await login(PASSWORD);
    const made = await fetch(`${node.url}/xrpc/com.atproto.server.createAppPassword`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${full.accessJwt}` },
      body: JSON.stringify({ name: 'phone' }),
    }).then((r) => r.json());
    const app = await login(made.password);
    const call = (token) => fetch(`${node.url}/xrpc/blue.skyhold.admin.listAccounts`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await call(full.accessJwt)).status, 200, 'the password session is an admin');
    const refused = await call(app.accessJwt);
    assert.equal(refused.status, 403, 'the app-password session is not');
    assert.match((await refused.json()).message, /app password/);
  });

  step('the admin signs in and opens the console', async () => {
    await signInWithForm(boss, 'boss.test');
    await boss.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin console' }).click();
    await boss.getByRole('heading', { name: 'Admin console', level: 1 }).waitFor();
    await boss.getByRole('heading', { name: 'Needs your attention' }).waitFor();
    await check(boss, 'console-overview', { phoneToo: true });
  });

  step('the admin creates an invite link and a new member signs up through it', async () => {
    await boss.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Invites' }).click();
    await boss.getByLabel('How many people can use it').fill('1');
    await boss.getByRole('button', { name: 'Create invite link' }).click();
    const link = boss.getByLabel('Invite link', { exact: true });
    await link.waitFor();
    inviteUrl = await link.textContent();
    assert.match(inviteUrl, /\/invite\/[a-z0-9-]+$/);
    await check(boss, 'console-invites', { phoneToo: true });

    await cleo.goto(new URL(inviteUrl).pathname);
    await cleo.getByLabel('Handle', { exact: true }).fill('cleo');
    await cleo.getByLabel('Email').fill('cleo@example.com');
    await cleo.getByLabel('Password').fill(PASSWORD);
    await cleo.getByRole('button', { name: 'Create account' }).click();
    await cleo.getByRole('heading', { name: 'Home', level: 1 }).waitFor();

    // The console sees who joined with it.
    await boss.reload();
    await boss.getByRole('list', { name: 'Invite codes' }).getByRole('link', { name: '@cleo.test' }).waitFor();
  });

  step('the new member posts', async () => {
    await cleo.getByLabel('New post', { exact: true }).click();
    const composer = cleo.getByRole('dialog', { name: 'New post' });
    await composer.getByLabel('Post text').fill('Buy cheap watches at totally-legit.example!!!');
    await composer.getByRole('button', { name: 'Post', exact: true }).click();
    await cleo.getByRole('status').getByText('Your post was published').waitFor();
    postPath = new URL(await cleo.getByRole('status').getByRole('link', { name: 'View' }).getAttribute('href'), node.url).pathname;
  });

  step('a second member sees it and reports it', async () => {
    const { code } = await node.admin('com.atproto.server.createInviteCode', { useCount: 1 });
    await fetch(`${node.url}/xrpc/com.atproto.server.createAccount`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: 'dan.test', email: 'dan@example.com', password: PASSWORD, inviteCode: code }),
    });
    await signInWithForm(dan, 'dan.test');
    await dan.goto('/');
    await dan.getByRole('tab', { name: 'Everyone here' }).click();
    const post = dan.getByRole('article').filter({ hasText: 'Buy cheap watches' });
    await post.waitFor();
    await post.getByRole('button', { name: 'More options' }).click();
    await dan.getByRole('menuitem', { name: 'Report post' }).click();
    const dialog = dan.getByRole('dialog', { name: 'Report this post' });
    await dialog.getByRole('radio', { name: /^Spam/ }).check();
    await dialog.getByLabel('Details (optional)').fill('Spam links to a scam shop');
    await dialog.getByRole('button', { name: 'Send report' }).click();
    await dan.getByRole('status').getByText("Thanks. Your report was sent to this server's moderators.").waitFor();
  });

  step('the report is in the inbox and the admin takes the post down with a reason', async () => {
    await boss.goto('/console');
    await boss.getByRole('link', { name: '1 report is waiting for a decision' }).click();
    const report = boss.getByRole('article').filter({ hasText: 'Spam links to a scam shop' });
    await report.getByText('Buy cheap watches at totally-legit.example!!!').waitFor();
    await report.getByText('reported by @dan.test').waitFor();
    await check(boss, 'console-reports', { phoneToo: true });
    await report.getByRole('button', { name: 'Decide' }).click();
    const dialog = boss.getByRole('dialog', { name: 'Decide on this report' });
    await dialog.getByRole('radio', { name: /Take the post down/ }).check();
    await dialog.getByLabel('Reason').fill('Scam links are not allowed here');
    await check(boss, 'console-resolve');
    await dialog.getByRole('button', { name: 'Take the post down' }).click();
    await boss.getByRole('status').getByText('Report decided').waitFor();
    await boss.getByText('No reports waiting').waitFor();
    await boss.getByRole('link', { name: 'Decided' }).click();
    await boss.getByText('record taken down: Scam links are not allowed here').waitFor();
  });

  step('the post is gone for everyone: timeline, thread, public page', async () => {
    await dan.goto('/');
    await dan.getByRole('tab', { name: 'Everyone here' }).click();
    await dan.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await dan.waitForLoadState('networkidle');
    assert.equal(await dan.getByText('Buy cheap watches').count(), 0, 'not in the Everyone feed');
    await cleo.goto('/');
    await cleo.waitForLoadState('networkidle');
    assert.equal(await cleo.getByText('Buy cheap watches').count(), 0, "not in the author's own timeline");
    await dan.goto(postPath);
    await dan.waitForLoadState('networkidle');
    assert.equal(await dan.getByText('Buy cheap watches').count(), 0, 'not in the thread');
    const response = await fetch(`${node.url}${postPath}`);
    assert.equal(response.status, 404, 'the public page is gone');
    assert.doesNotMatch(await response.text(), /Buy cheap watches/);
    const visitor = await newPage(browser, { viewport: PHONE, baseURL: node.url });
    await visitor.goto(postPath);
    await visitor.waitForLoadState('networkidle');
    assert.equal(await visitor.getByText('Buy cheap watches').count(), 0, 'not for a signed-out visitor');
    await visitor.context().close();
  });

  step('the audit log shows the invite and the takedown', async () => {
    await boss.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Audit log' }).click();
    const log = boss.getByRole('list', { name: 'Admin actions' });
    await log.getByText('@boss.test took down a post by @cleo.test').waitFor();
    await log.getByText('@boss.test decided report #1').waitFor();
    await log.getByText(/^@boss\.test created the invite /).waitFor();
    await log.getByText('The admin password made @boss.test an admin').waitFor();
    await check(boss, 'console-audit', { phoneToo: true });
    // The command line reads the same log.
    assert.match(cli('admin', 'audit'), /record\.takedown/);
  });

  step('the admin finds the member and suspends them with a reason', async () => {
    await boss.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Accounts' }).click();
    await boss.getByLabel('Search accounts').fill('cleo');
    await boss.getByRole('button', { name: 'Search', exact: true }).click();
    await boss.getByRole('link', { name: /@cleo\.test/ }).click();
    await boss.getByRole('heading', { name: /@cleo\.test/ }).waitFor();
    await check(boss, 'console-account', { phoneToo: true });
    await boss.getByLabel('Reason').fill('Spamming after a warning');
    await boss.getByLabel('Suspend for').selectOption('3');
    await boss.getByRole('button', { name: 'Suspend', exact: true }).click();
    await boss.getByRole('heading', { name: 'This account is suspended' }).waitFor();
    await boss.getByText('“Spamming after a warning”').waitFor();
  });

  step('a suspended member cannot sign in and reads why and until when', async () => {
    await cleo.goto('/');
    await cleo.getByRole('heading', { name: 'Home', level: 1 }).waitFor().catch(() => {});
    // Their session ended with the suspension; the sign-in form says why.
    await cleo.evaluate(() => localStorage.clear());
    await cleo.goto('/signin');
    await cleo.getByLabel('Handle or email').fill('cleo.test');
    await cleo.getByLabel('Password').fill(PASSWORD);
    await cleo.getByRole('button', { name: 'Sign in' }).click();
    const alert = cleo.getByRole('alert');
    await alert.getByText(/Your account is suspended until .+\. The moderators said: “Spamming after a warning”/).waitFor();
    await check(cleo, 'signin-suspended');
  });

  step('the admin sets a new password for a locked-out member, then deletes the account', async () => {
    await boss.goto('/console/accounts');
    await boss.getByLabel('Search accounts').fill('dan');
    await boss.getByRole('button', { name: 'Search', exact: true }).click();
    await boss.getByRole('link', { name: /@dan\.test/ }).click();
    await boss.getByRole('heading', { name: /@dan\.test/ }).waitFor();
    await boss.getByRole('button', { name: 'Set a new password' }).click();
    await boss.getByRole('dialog', { name: 'New password for @dan.test?' }).getByRole('button', { name: 'Set a new password' }).click();
    const fresh = (await boss.getByLabel('New password', { exact: true }).textContent()).trim();
    assert.match(fresh, /^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
    // The old password no longer works; the new one does.
    const login = (password) =>
      fetch(`${node.url}/xrpc/com.atproto.server.createSession`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: 'dan.test', password }),
      });
    assert.equal((await login(PASSWORD)).status, 401);
    assert.equal((await login(fresh)).status, 200);

    await boss.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = boss.getByRole('dialog', { name: 'Delete @dan.test?' });
    const confirm = dialog.getByRole('button', { name: 'Delete', exact: true });
    assert.equal(await confirm.isDisabled(), true, 'not before the handle is typed');
    await dialog.getByLabel('Type dan.test to confirm').fill('dan.test');
    await confirm.click();
    await boss.getByRole('status').getByText('@dan.test deleted').waitFor();
    assert.equal((await login(fresh)).status, 401, 'the account is gone');
    await boss.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Audit log' }).click();
    const log = boss.getByRole('list', { name: 'Admin actions' });
    await log.getByText(/set a new password for /).waitFor();
    await log.getByText(/^@boss\.test deleted /).waitFor();
  });

  step('the other console pages: network, server', async () => {
    await boss.goto('/console/network');
    await boss.getByRole('heading', { name: 'Who follows this server' }).waitFor();
    await boss.getByRole('heading', { name: 'Servers the relay follows' }).waitFor();
    // The crawlers: the hub took the request (and its relay follows this node); the other is down.
    const told = boss.getByRole('list', { name: 'Relays told about this server' }).getByRole('listitem');
    const hubRow = told.filter({ has: boss.getByText(hub.relayUrl, { exact: true }) });
    const deadRow = told.filter({ has: boss.getByText(deadCrawler, { exact: true }) });
    await hubRow.getByText('Told').waitFor();
    await hubRow.getByText('answered HTTP 200').waitFor();
    // Members have posted since the start: the hub hears again when its 20 minutes are over.
    await hubRow.getByText(/^Next attempt in (\d+|one) minutes?$/).waitFor();
    await deadRow.getByText('Failing').waitFor();
    await deadRow.getByText(/no answer \(/).waitFor();
    await deadRow.getByText('Next attempt').waitFor();
    const hosts = await hub.admin('blue.skyhold.admin.listHosts');
    assert.ok(hosts.hosts.some((h) => h.hostname === `localhost:${node.port}`), 'the hub follows the node');
    await check(boss, 'console-network', { phoneToo: true });
    // Asking the hub again by hand counts in its status: told about everything now.
    await boss.getByLabel('Relay', { exact: true }).fill(hub.relayUrl);
    await boss.getByRole('button', { name: 'Ask to crawl this server' }).click();
    await boss.getByRole('status').getByText(`Asked ${hub.relayUrl} to crawl this server`).waitFor();
    await hubRow.getByText(/^Asked again after new posts, in (\d+|one) minutes? at the earliest$/).waitFor();
    await boss.goto('/console');
    await boss.getByRole('link', { name: /relay cannot be told about this server/ }).waitFor();
    await boss.goto('/console/server');
    await boss.getByRole('heading', { name: 'Certificates' }).waitFor();
    await boss.getByRole('heading', { name: 'Codes waiting' }).waitFor();
    await check(boss, 'console-server', { phoneToo: true });
  });

  step('the admin has the relay follow another server, then bans it', async () => {
    const other = await startNode();
    try {
      const host = `localhost:${other.port}`;
      await boss.goto('/console/network');
      await boss.getByLabel('Server to follow').fill(host);
      await boss.getByRole('button', { name: 'Follow', exact: true }).click();
      await boss.getByRole('status').getByText(`Following ${host}`).waitFor();
      const row = boss.getByRole('row').filter({ hasText: host });
      await row.getByText('Active').waitFor();
      await row.getByRole('button', { name: `Ban ${host}` }).click();
      await boss.getByRole('dialog', { name: `Ban ${host}?` }).getByRole('button', { name: 'Ban' }).click();
      await row.getByRole('button', { name: 'Lift the ban' }).waitFor();
      await check(boss, 'console-network-banned');
      // The node's own PDS cannot be banned from its own console.
      assert.equal(await boss.getByRole('row').filter({ hasText: new URL(node.url).host }).getByRole('button').count(), 0);
      await boss.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Audit log' }).click();
      const log = boss.getByRole('list', { name: 'Admin actions' });
      await log.getByText(`@boss.test had the relay follow ${host}`).waitFor();
      await log.getByText(`@boss.test banned ${host}`).waitFor();
    } finally {
      await other.stop();
    }
  });

  step('/metrics serves the same figures to the operator', async () => {
    const basic = `Basic ${Buffer.from(`admin:${node.adminPassword}`).toString('base64')}`;
    assert.equal((await fetch(`${node.url}/metrics`)).status, 401);
    const text = await (await fetch(`${node.url}/metrics`, { headers: { authorization: basic } })).text();
    assert.match(text, /^skyhold_xrpc_requests_total\{method="com\.atproto\.moderation\.createReport",outcome="ok"\} 1$/m);
    assert.match(text, /^skyhold_accounts\{status="suspended"\} 1$/m);
    assert.match(text, /^skyhold_reports_open 0$/m);
  });
});
