// The main scenario of the built-in web UI, two members in two browser contexts against the real
// binary: sign up through an invite link → edit the profile with an avatar → post with an image
// and alt text → the second member follows, likes, replies and quotes → the first sees the
// notification badge, the thread and the quote → search finds both → mute, block and report →
// an app password is created and revoked → the repository is exported and verified with
// `skyhold repo verify` → the public post page unfurls for a signed-out visitor.
// Every view is checked with axe-core (no serious or critical violations) and photographed at
// phone (360 px) and desktop width into tests/web/artifacts/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, binary } from '../support/server.mjs';
import { launch, newPage, seriousViolations, shot, PHONE, DESKTOP } from '../support/browser.mjs';
import { gradientPng } from '../support/png.mjs';
import { signInOnServerPage, confirmPasswordIfAsked } from '../support/members.mjs';

const PASSWORD = 'correct horse battery';

let node;
let browser;
let ana; // desktop, first member
let bo; // phone, second member
let invite;
let postUrl;
const scratch = mkdtempSync(join(tmpdir(), 'skyhold-web-scenario-'));

/** axe and a screenshot of the current view; nothing unexpected on the page so far. */
async function check(page, name) {
  await page.waitForLoadState('networkidle');
  await page.locator('.spinner').first().waitFor({ state: 'detached', timeout: 15_000 }).catch(() => {});
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `axe on ${name}`);
  const width = page.viewportSize().width;
  await shot(page, `${name}-${width}`);
  assert.deepEqual(page.problems(), [], `page problems on ${name}`);
}

async function signUp(page, { handle, code, viaLink }) {
  if (viaLink) {
    await page.goto(`/invite/${code}`);
    assert.equal(await page.getByLabel('Invite code').inputValue(), code, 'the invite link fills in the code');
  } else {
    await page.goto('/signup');
    await page.getByLabel('Invite code').fill(code);
  }
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  await page.getByLabel('Email').fill(`${handle}@example.com`);
  await page.getByLabel('Password').fill(PASSWORD);
  await check(page, `signup-${handle}`);
  await page.getByRole('button', { name: 'Create account' }).click();
  // Then the UI signs in to the new account through the node's page.
  await signInOnServerPage(page, PASSWORD);
  await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
}

/** Waits until `fn` resolves truthy (the App View indexes asynchronously). */
async function eventually(fn, what, timeoutMs = 15_000) {
  const start = Date.now();
  for (;;) {
    const value = await fn().catch(() => null);
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A step of the scenario; when it fails, both members' pages are photographed for the artifacts. */
function step(name, fn) {
  it(name, async () => {
    try {
      await fn();
    } catch (error) {
      for (const [who, page] of [['ana', ana], ['bob', bo]]) {
        if (page && !page.isClosed()) await shot(page, `FAILED-${who}`).catch(() => {});
      }
      throw error;
    }
  });
}

describe('two members use the web UI', { concurrency: false }, () => {
  before(async () => {
    node = await startNode(['--invite-required', 'true']);
    ({ code: invite } = await node.admin('com.atproto.server.createInviteCode', { useCount: 2 }));
    browser = await launch();
    ana = await newPage(browser, { viewport: DESKTOP, baseURL: node.url });
    bo = await newPage(browser, { viewport: PHONE, baseURL: node.url });
    for (const page of [ana, bo]) page.setDefaultTimeout(15_000);
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  step('the landing page says what the server is', async () => {
    await ana.goto('/');
    await ana.getByRole('link', { name: 'Create account' }).first().waitFor();
    await check(ana, 'landing');
  });

  step('Ana signs up through an invite link', async () => {
    await signUp(ana, { handle: 'ana', code: invite, viaLink: true });
    await ana.getByText('Your Following feed is empty').waitFor();
    await check(ana, 'home-empty');
  });

  step('Ana edits her profile with an avatar', async () => {
    await ana.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Profile' }).click();
    await ana.getByRole('button', { name: 'Edit profile' }).click();
    const dialog = ana.getByRole('dialog', { name: 'Edit profile' });
    await dialog.getByLabel('Display name').fill('Ana Gardener');
    await dialog.getByLabel('Bio').fill('Tulips, tomatoes and #garden notes.');
    await dialog.getByLabel('Change avatar').setInputFiles({ name: 'avatar.png', mimeType: 'image/png', buffer: gradientPng(400, 300, 40) });
    await dialog.getByRole('img', { name: 'Your avatar' }).waitFor();
    await check(ana, 'edit-profile');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await ana.getByRole('heading', { name: 'Ana Gardener', level: 2 }).waitFor();
    // The App View serves the new avatar from this node.
    await eventually(async () => {
      await ana.reload();
      const src = await ana.getByRole('img', { name: 'Avatar of Ana Gardener' }).getAttribute('src', { timeout: 2000 });
      return src && src.includes('com.atproto.sync.getBlob');
    }, 'the avatar in the profile view');
    await check(ana, 'profile-own');
  });

  step('Ana posts with an image and alt text', async () => {
    await ana.goto('/');
    await ana.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'New post' }).click();
    const composer = ana.getByRole('dialog', { name: 'New post' });
    await composer.getByLabel('Post text').fill('First bloom of the year in the #garden 🌷');
    await composer.getByLabel('Add images').setInputFiles({ name: 'tulip.png', mimeType: 'image/png', buffer: gradientPng(1600, 1200, 90) });
    const alt = composer.getByLabel('Alt text for image 1 (required)');
    await alt.waitFor();
    const postButton = composer.getByRole('button', { name: 'Post', exact: true });
    assert.equal(await postButton.isDisabled(), true, 'no posting without alt text');
    await alt.fill('A red tulip opening in the morning sun');
    await composer.getByRole('img', { name: 'A red tulip opening in the morning sun' }).waitFor();
    await check(ana, 'composer');
    await postButton.click();
    await ana.getByRole('status').getByText('Your post was published').waitFor();
    const link = ana.getByRole('status').getByRole('link', { name: 'View' });
    postUrl = new URL(await link.getAttribute('href'), node.url).pathname;
    await link.click();
    await ana.getByRole('article', { name: 'Post by Ana Gardener' }).getByRole('button', { name: /Open image: A red tulip/ }).waitFor();
    await check(ana, 'thread-new');
  });

  step('Bo signs up on a phone and finds Ana', async () => {
    await signUp(bo, { handle: 'bob', code: invite, viaLink: false });
    await bo.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    const box = bo.getByRole('combobox', { name: 'Search posts and people' });
    await box.fill('ana');
    await bo.getByRole('option', { name: /Ana Gardener/ }).waitFor();
    await check(bo, 'search-typeahead');
    await bo.getByRole('option', { name: /Ana Gardener/ }).click();
    await bo.getByRole('heading', { name: 'Ana Gardener', level: 2 }).waitFor();
  });

  step('Bo follows, likes, replies and quotes', async () => {
    await bo.getByRole('button', { name: 'Follow', exact: true }).click();
    await bo.getByRole('button', { name: 'Following' }).waitFor();
    const post = bo.getByRole('article', { name: 'Post by Ana Gardener' }).first();
    await post.waitFor();
    await check(bo, 'profile-other');
    const save = post.getByRole('button', { name: 'Save post' });
    await save.click();
    assert.equal(await save.getAttribute('aria-pressed'), 'true');
    const like = post.getByRole('button', { name: /^Like/ });
    await like.click();
    assert.equal(await like.getAttribute('aria-pressed'), 'true', 'the like shows at once');
    await post.getByRole('button', { name: /^Reply/ }).click();
    const reply = bo.getByRole('dialog', { name: 'Reply' });
    await reply.getByLabel('Reply text').fill('Lovely colour!');
    await reply.getByRole('button', { name: 'Reply', exact: true }).click();
    await bo.getByRole('status').getByText('Your reply was published').waitFor();
    await post.getByRole('button', { name: /^Repost or quote/ }).click();
    await bo.getByRole('menu', { name: 'Repost or quote' }).waitFor();
    await check(bo, 'menu-repost');
    await bo.getByRole('menuitem', { name: 'Quote post' }).click();
    const quote = bo.getByRole('dialog', { name: 'Quote post' });
    await quote.getByLabel('Post text').fill('Spring is here, look at this');
    await check(bo, 'composer-quote');
    await quote.getByRole('button', { name: 'Post', exact: true }).click();
    await bo.getByRole('status').getByText('Your post was published').waitFor();
    // Saved posts show Ana's post; only Bo sees them.
    await bo.goto('/saved');
    await bo.getByRole('feed', { name: 'Saved posts' }).getByRole('article', { name: 'Post by Ana Gardener' }).waitFor();
    await check(bo, 'saved');
    // Bo's Following feed now shows Ana's post.
    await bo.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
    await bo.getByRole('tab', { name: 'Following' }).click();
    await bo.getByRole('article', { name: 'Post by Ana Gardener' }).first().waitFor();
    await check(bo, 'home-following');
  });

  step('Ana sees the badge, the notifications, the thread and the quote', async () => {
    const bell = ana.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^Notifications \d+ unread/ });
    await eventually(async () => {
      await ana.goto('/');
      await bell.waitFor({ timeout: 3000 });
      return true;
    }, 'the unread badge');
    await check(ana, 'home-badge');
    await bell.click();
    await ana.getByText('followed you').waitFor();
    await ana.getByText('liked your post').waitFor();
    await ana.getByText('bob.test replied').waitFor();
    await ana.getByText('bob.test quoted your post').waitFor();
    await check(ana, 'notifications');
    await eventually(async () => !(await ana.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /unread/ }).count()), 'the badge to clear');
    await ana.goto(postUrl);
    await ana.getByRole('article', { name: 'Post by bob.test' }).getByText('Lovely colour!').waitFor();
    await check(ana, 'thread-replies');
    await ana.getByRole('link', { name: /1 quote/ }).click();
    await ana.getByText('Spring is here, look at this').waitFor();
    await check(ana, 'quotes');
  });

  step('search finds both members and the post', async () => {
    await ana.goto('/search?q=bloom');
    await ana.getByRole('feed', { name: 'Posts' }).getByText('First bloom of the year').waitFor();
    await check(ana, 'search-posts');
    await ana.getByRole('tab', { name: 'People' }).click();
    await ana.goto('/search?q=bo&tab=people');
    await ana.getByRole('list', { name: 'People' }).getByText('@bob.test').waitFor();
    await ana.goto('/search?q=ana&tab=people');
    await ana.getByRole('list', { name: 'People' }).getByText('@ana.test').waitFor();
    await ana.goto('/hashtag/garden');
    await ana.getByText('First bloom of the year').waitFor();
  });

  step('every view passes axe at phone and desktop width, light and dark', async () => {
    const views = [
      ['home', '/', () => ana.getByRole('tab', { name: 'Everyone here' }).click()],
      ['thread', postUrl],
      ['profile', '/profile/ana.test'],
      ['profile-media', '/profile/ana.test?tab=media'],
      ['followers', '/profile/ana.test/followers'],
      ['liked-by', `${postUrl}/liked-by`],
      ['notifications', '/notifications'],
      ['search', '/search?q=garden'],
      ['settings', '/settings'],
      ['account', '/settings/account'],
      // App passwords take the password (docs/OAUTH.md): asked on the first visit only.
      ['app-passwords', '/settings/app-passwords', () => confirmPasswordIfAsked(ana, ana.getByText('No app passwords yet'), PASSWORD)],
      ['moderation', '/moderation'],
      ['notification-settings', '/settings/notifications'],
      ['saved', '/saved'],
      ['not-found', '/no/such/page'],
    ];
    try {
      for (const [size, scheme] of [[DESKTOP, 'light'], [PHONE, 'light'], [PHONE, 'dark']]) {
        await ana.setViewportSize(size);
        await ana.emulateMedia({ colorScheme: scheme });
        for (const [name, path, then] of views) {
          await ana.goto(path);
          await ana.getByRole('heading', { level: 1 }).first().waitFor();
          if (then) await then();
          await check(ana, `gallery-${name}-${scheme}`);
        }
      }
    } finally {
      await ana.setViewportSize(DESKTOP);
      await ana.emulateMedia({ colorScheme: 'light' });
    }
  });

  step('Bo mutes a word; Ana mutes, blocks and reports Bo', async () => {
    await bo.goto('/moderation');
    await bo.getByLabel('Word, phrase or hashtag').fill('bloom');
    await bo.getByRole('button', { name: 'Mute', exact: true }).click();
    await bo.getByRole('list', { name: 'Muted words and tags' }).getByText('bloom').waitFor();
    await check(bo, 'moderation');
    await bo.goto('/profile/ana.test');
    await bo.getByText('Post hidden by your muted words').first().waitFor();

    await ana.goto('/profile/bob.test');
    await ana.getByRole('button', { name: 'More profile options' }).click();
    await ana.getByRole('menuitem', { name: 'Mute account' }).click();
    await ana.getByText('You muted this account.').waitFor();
    // A report of Bo's reply, from its menu in Ana's thread.
    const reports = [];
    ana.on('request', (r) => r.url().includes('com.atproto.moderation.createReport') && reports.push(r.postDataJSON()));
    await ana.goto(postUrl);
    const reply = ana.getByRole('article', { name: 'Post by bob.test' });
    await reply.getByRole('button', { name: 'Show' }).click(); // collapsed: Bo is muted now
    await ana.getByRole('article', { name: 'Post by bob.test' }).getByRole('button', { name: 'More options' }).click();
    await ana.getByRole('menuitem', { name: 'Report post' }).click();
    const dialog = ana.getByRole('dialog', { name: 'Report this post' });
    await dialog.getByRole('radio', { name: /Spam/ }).check();
    await dialog.getByLabel('Details (optional)').fill('Testing the report flow');
    await check(ana, 'report');
    await dialog.getByRole('button', { name: 'Send report' }).click();
    await eventually(async () => reports.length === 1, 'the createReport call');
    assert.equal(reports[0].reasonType, 'com.atproto.moderation.defs#reasonSpam');
    assert.equal(reports[0].subject.$type, 'com.atproto.repo.strongRef');
    assert.match(reports[0].subject.uri, /^at:\/\/did:plc:[a-z2-7]+\/app\.bsky\.feed\.post\//);
    await ana.getByRole('status').getByText("Thanks. Your report was sent to this server's moderators.").waitFor();
    await dialog.waitFor({ state: 'detached' });
    // The server's moderators have it in their queue.
    const { reports: queue } = await node.admin('admin/reports');
    assert.equal(queue.length, 1, JSON.stringify(queue));
    assert.equal(queue[0].reasonType, 'com.atproto.moderation.defs#reasonSpam');
    assert.equal(queue[0].subject.uri, reports[0].subject.uri);

    await ana.goto('/profile/bob.test');
    await ana.getByRole('button', { name: 'More profile options' }).click();
    await ana.getByRole('menuitem', { name: 'Block account' }).click();
    await ana.getByRole('dialog', { name: /Block/ }).getByRole('button', { name: 'Block', exact: true }).click();
    await ana.getByText('You blocked this account').waitFor();
    await check(ana, 'profile-blocked');
    await ana.goto('/moderation');
    await ana.getByRole('list', { name: 'Blocked accounts' }).getByText('@bob.test').waitFor();
    await ana.getByRole('list', { name: 'Muted accounts' }).getByText('@bob.test').waitFor();
  });

  step('Ana creates an app password, it signs in, she revokes it', async () => {
    await ana.goto('/settings');
    await check(ana, 'settings');
    await ana.getByRole('link', { name: /App passwords/ }).click();
    await confirmPasswordIfAsked(ana, ana.getByText('No app passwords yet'), PASSWORD);
    await ana.getByLabel('Name').fill('Phone app');
    await ana.getByRole('button', { name: 'Create app password' }).click();
    const secret = (await ana.getByLabel('The new app password').innerText()).trim();
    assert.match(secret, /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/);
    await check(ana, 'app-passwords');
    const login = (password) =>
      fetch(`${node.url}/xrpc/com.atproto.server.createSession`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: 'ana.test', password }),
      });
    assert.equal((await login(secret)).status, 200, 'the app password signs in');
    await ana.getByRole('button', { name: 'Revoke Phone app' }).click();
    await ana.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await ana.getByText('No app passwords yet').waitFor();
    assert.equal((await login(secret)).status, 401, 'a revoked app password no longer signs in');
  });

  step('Ana exports her repository and it verifies', async () => {
    await ana.goto('/settings/account');
    await check(ana, 'account');
    const [download] = await Promise.all([ana.waitForEvent('download'), ana.getByRole('button', { name: 'Download repository' }).click()]);
    const file = join(scratch, download.suggestedFilename());
    await download.saveAs(file);
    assert.match(download.suggestedFilename(), /^ana\.test-\d{4}-\d{2}-\d{2}\.car$/);
    assert.ok(statSync(file).size > 500, 'the CAR file has the repository');
    const out = execFileSync(binary, ['repo', 'verify', file, '--plc-url', `${node.url}/plc`], { encoding: 'utf8' });
    assert.match(out, /verified|ok/i, out);
  });

  step('the public post page unfurls for a signed-out visitor', async () => {
    const html = await (await fetch(`${node.url}${postUrl}`)).text();
    const meta = (property) => html.match(new RegExp(`<meta (?:property|name)="${property}" content="([^"]*)">`))?.[1];
    assert.equal(meta('og:title'), 'Ana Gardener (@ana.test)');
    assert.match(meta('og:description'), /First bloom of the year/);
    assert.match(meta('og:image'), /com\.atproto\.sync\.getBlob/);
    assert.equal(meta('og:image:alt'), 'A red tulip opening in the morning sun');
    assert.equal(meta('twitter:card'), 'summary_large_image');
    const visitor = await newPage(browser, { viewport: PHONE, baseURL: node.url });
    await visitor.goto(postUrl);
    await visitor.getByText('First bloom of the year').waitFor();
    await check(visitor, 'public-post');
    await visitor.getByRole('button', { name: /Open image/ }).click();
    await visitor.getByRole('dialog', { name: 'Image' }).getByText('A red tulip opening in the morning sun').waitFor();
    await check(visitor, 'lightbox');
    await visitor.context().close();
  });
});
