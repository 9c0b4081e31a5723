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

/** Signs in through the page's form. */
export async function signInWithForm(page, handle, password = 'correct horse battery') {
  await page.goto('/signin');
  await page.getByLabel('Handle or email').fill(handle);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
}
