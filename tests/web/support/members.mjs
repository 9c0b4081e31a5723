// Accounts and posts made over XRPC (as any client would), for tests that need content.

/** Creates an account; returns `{ did, handle, accessJwt }`. */
export async function createAccount(node, handle, password = 'correct horse battery') {
  const response = await fetch(`${node.url}/xrpc/com.atproto.server.createAccount`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ handle, email: `${handle.replace(/\./g, '-')}@example.com`, password }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`createAccount ${handle}: ${JSON.stringify(body)}`);
  return body;
}

export async function createRecord(node, account, collection, record) {
  const response = await fetch(`${node.url}/xrpc/com.atproto.repo.createRecord`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${account.accessJwt}` },
    body: JSON.stringify({ repo: account.did, collection, record: { $type: collection, createdAt: new Date().toISOString(), ...record } }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`createRecord ${collection}: ${JSON.stringify(body)}`);
  return body;
}

/**
 * Signs in as a member does: the UI's sign-in page names the account, the node's own OAuth page
 * (/oauth/authorize) takes the password, and the browser comes back to the UI signed in.
 */
export async function signInWithForm(page, handle, password = 'correct horse battery') {
  await page.goto('/signin');
  await page.getByLabel('Handle or email').fill(handle);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await signInOnServerPage(page, password);
  await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
}

/** The node's sign-in and consent page: the password (the handle is filled in), then allow. */
export async function signInOnServerPage(page, password = 'correct horse battery') {
  await page.waitForURL(/\/oauth\/authorize\?/);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in and allow' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/oauth/'));
}

/** The password the UI asks again for a call no app permission covers (docs/OAUTH.md). */
export async function confirmPassword(page, password = 'correct horse battery') {
  const dialog = page.getByRole('dialog', { name: 'Confirm your password' });
  await dialog.getByLabel('Your password').fill(password);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.waitFor({ state: 'detached' });
}

/**
 * Waits for `ready`, confirming the password first when the page asks for it (a password
 * confirmed in this tab serves for a while, so a later visit may not ask).
 */
export async function confirmPasswordIfAsked(page, ready, password = 'correct horse battery') {
  const dialog = page.getByRole('dialog', { name: 'Confirm your password' });
  await ready.or(dialog).first().waitFor();
  if (await dialog.isVisible()) await confirmPassword(page, password);
  await ready.waitFor();
}
