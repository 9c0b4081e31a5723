// The account pages in a browser, one member against the real binary: a wrong password said in
// words, email confirmation and change, handle change, password reset when signed out,
// deactivation (with its banner) and reactivation, deletion; and what happens offline. Codes that
// would be emailed come from the admin's list (no SMTP configured), as a member would get them
// from the admin of a small server.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode } from '../support/server.mjs';
import { launch, newPage, seriousViolations, shot, PHONE } from '../support/browser.mjs';
import { createAccount, signInWithForm, signInOnServerPage, confirmPassword } from '../support/members.mjs';

let node;
let browser;
let page;
let did;

async function code(purpose) {
  const { codes } = await node.pendingCodes();
  const found = codes.find((c) => c.did === did && c.purpose === purpose);
  assert.ok(found, `a ${purpose} code for ${did} in ${JSON.stringify(codes)}`);
  return found.token;
}

async function check(name) {
  assert.deepEqual(await seriousViolations(page), [], `axe on ${name}`);
  await shot(page, `${name}-${page.viewportSize().width}`);
}

describe('account pages', { concurrency: false }, () => {
  before(async () => {
    node = await startNode();
    ({ did } = await createAccount(node, 'carla.test'));
    browser = await launch();
    page = await newPage(browser, { viewport: PHONE, baseURL: node.url });
    page.setDefaultTimeout(15_000);
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
  });

  it('a wrong password is said in words; the right one signs in', async () => {
    await page.goto('/signin');
    await check('signin');
    await page.getByLabel('Handle or email').fill('carla');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // The password is typed on the node's own sign-in page, which says a wrong one in words.
    await page.waitForURL(/\/oauth\/authorize\?/);
    assert.equal(await page.getByLabel('Handle or email').inputValue(), 'carla.test', 'the handle is filled in');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in and allow' }).click();
    await page.getByRole('alert').getByText('Wrong handle or password.').waitFor();
    await check('signin-error');
    // "carla" alone gets the server's handle domain.
    await signInWithForm(page, 'carla');
  });

  it('confirms and changes the email', async () => {
    await page.goto('/settings/account');
    const email = page.getByRole('region', { name: 'Email' });
    await email.getByText('Not confirmed').waitFor();
    await email.getByRole('button', { name: 'Send confirmation code' }).click();
    await email.getByLabel('Code from the email').waitFor();
    await email.getByLabel('Code from the email').fill(await code('confirm_email'));
    await email.getByRole('button', { name: 'Confirm email' }).click();
    await email.getByText('Confirmed', { exact: true }).waitFor();
    await email.getByRole('button', { name: 'Change email' }).click();
    await email.getByLabel('New email').waitFor();
    await email.getByLabel('Code from the email').fill(await code('update_email'));
    await email.getByLabel('New email').fill('carla@example.org');
    await email.getByRole('button', { name: 'Save email' }).click();
    await email.getByText('carla@example.org').waitFor();
    await check('account-email');
  });

  it('changes the handle', async () => {
    const handle = page.getByRole('region', { name: 'Handle' });
    await handle.getByLabel('New handle').fill('carla-green');
    await handle.getByText("You'll be @carla-green.test").waitFor();
    await handle.getByRole('button', { name: 'Change handle' }).click();
    await handle.getByText('Your handle is @carla-green.test.').waitFor();
    const resolved = await (await fetch(`${node.url}/xrpc/com.atproto.identity.resolveHandle?handle=carla-green.test`)).json();
    assert.equal(resolved.did, did);
  });

  it('resets a forgotten password when signed out', async () => {
    await page.goto('/settings');
    await page.getByRole('button', { name: 'Sign out' }).click();
    // Exact: the settings page's "App passwords" row says "Sign in to other apps", and leaving
    // before the sign-out has finished would keep the session.
    await page.waitForFunction(() => localStorage.getItem('skyhold.session') === null);
    await page.getByRole('link', { name: 'Sign in', exact: true }).first().waitFor();
    await page.goto('/signin');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill('carla@example.org');
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('Code', { exact: true }).waitFor();
    await page.getByLabel('Code', { exact: true }).fill(await code('reset_password'));
    await page.getByLabel('New password').fill('a brand new password');
    await check('reset-password');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    await signInWithForm(page, 'carla-green.test', 'a brand new password');
  });

  it('chooses which notifications to get', async () => {
    await page.goto('/settings');
    await page.getByRole('link', { name: /Notifications Which notifications/ }).click();
    const likes = page.getByRole('group', { name: 'Likes', exact: true });
    await likes.getByLabel('From').selectOption('follows');
    await page.getByRole('status').getByText('Notification settings saved').waitFor();
    await page.getByRole('group', { name: 'Mentions', exact: true }).getByLabel('Show in notifications').uncheck();
    await check('notification-settings');
    await page.reload();
    await page.getByRole('group', { name: 'Likes', exact: true }).getByLabel('From').waitFor();
    assert.equal(await page.getByRole('group', { name: 'Likes', exact: true }).getByLabel('From').inputValue(), 'follows');
    assert.equal(await page.getByRole('group', { name: 'Mentions', exact: true }).getByLabel('Show in notifications').isChecked(), false);
  });

  it('deactivates with a banner everywhere, and reactivates', async () => {
    await page.goto('/settings/account');
    await page.getByRole('button', { name: 'Deactivate' }).click();
    await page.getByRole('dialog', { name: 'Deactivate account' }).getByRole('button', { name: 'Deactivate' }).click();
    // Deactivating takes the password, and ends every app's session, the UI's too: signing in
    // again (the handle is filled in) shows the account deactivated, with the way back.
    await confirmPassword(page, 'a brand new password');
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await signInOnServerPage(page, 'a brand new password');
    await page.getByText('Your account is deactivated: nobody else can see it.').waitFor();
    await check('account-deactivated');
    await page.getByRole('region', { name: 'Reactivate account' }).getByRole('button', { name: 'Reactivate' }).click();
    await confirmPassword(page, 'a brand new password');
    await page.getByText('Your account is deactivated: nobody else can see it.').waitFor({ state: 'detached' });
  });

  it('offline, the page says so and errors are in words', async () => {
    await page.goto('/search');
    await page.getByRole('heading', { name: 'Search', level: 1 }).waitFor();
    await page.context().setOffline(true);
    try {
      await page.getByRole('status').getByText("You're offline.", { exact: false }).waitFor();
      await page.getByRole('combobox', { name: 'Search posts and people' }).fill('anything');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('alert').getByText("You're offline. Connect to the network and try again.").waitFor();
      await check('offline');
      // A view whose code was never loaded says the same, and comes back with the network.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notifications' }).click();
      await page.getByRole('alert').getByText("You're offline.", { exact: false }).waitFor();
    } finally {
      await page.context().setOffline(false);
    }
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
  });

  it('deletes the account', async () => {
    await page.goto('/settings/account');
    const section = page.getByRole('region', { name: 'Delete account' });
    // The password confirmed to reactivate, minutes ago in this tab, still serves: no question.
    await section.getByRole('button', { name: 'Delete my account…' }).click();
    await section.getByLabel('Your password').waitFor();
    await section.getByLabel('Code from the email').fill(await code('delete_account'));
    await section.getByLabel('Your password').fill('a brand new password');
    await section.getByRole('button', { name: 'Delete forever' }).click();
    await page.getByRole('dialog', { name: 'Delete account' }).getByRole('button', { name: 'Delete forever' }).click();
    await page.getByText('Your account was deleted.').waitFor();
    const session = await fetch(`${node.url}/xrpc/com.atproto.server.createSession`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: 'carla-green.test', password: 'a brand new password' }),
    });
    assert.notEqual(session.status, 200, 'the account is gone');
    // Offline requests fail on purpose above; nothing else may have gone wrong.
    assert.deepEqual(page.problems().filter((p) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch dynamically imported module/.test(p)), []);
  });
});
