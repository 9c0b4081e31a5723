// Moving an account in from another server, step by step, over the public migration API (the
// account-migration guide, https://atproto.com/guides/account-migration): the browser signs in to
// the old server (which must allow cross-origin calls: the reference PDS and skyhold do), asks it
// for a service-auth token, creates the account here, imports the repository, copies the images
// and the settings, has the old server sign the identity change (with the emailed code) that this
// server submits, activates the account here and deactivates it there.
//
// Progress is kept in localStorage after every step, so a failure (a network hiccup, a closed
// tab) resumes where it stopped; each step can be run again safely. The user's own rotation keys
// (a paper recovery key) stay in the identity: only the old server's keys are replaced.

import { config } from './config.js';
import { Remote, serverOrigin, pdsEndpoint } from './remote.js';
import { XrpcError } from './xrpc.js';

const KEY = 'skyhold.moveIn';

export const STEPS = ['signin', 'account', 'repo', 'blobs', 'prefs', 'plc', 'finish'];

/** The saved progress, or null. */
export function loadProgress() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

export function saveProgress(progress) {
  localStorage.setItem(KEY, JSON.stringify(progress));
}

export function clearProgress() {
  localStorage.removeItem(KEY);
}

/** The two clients of a move: the old server and this one, each with its own session. */
export function clients(progress, save) {
  const old = new Remote(progress.oldPds || progress.oldBase, progress.oldTokens, (tokens) => save({ oldTokens: tokens }));
  const here = new Remote('', progress.newTokens, (tokens) => save({ newTokens: tokens }));
  return { old, here };
}

/** Signs in to the old server; returns what the next steps need. */
export async function signInOld(server, identifier, password, code) {
  const oldBase = serverOrigin(server);
  const remote = new Remote(oldBase);
  const session = await remote.signIn(identifier.trim().replace(/^@/, ''), password, code);
  if (!session.did.startsWith('did:plc:')) {
    throw new XrpcError(400, 'UnsupportedDid', 'Only did:plc accounts can move with this page');
  }
  return {
    oldBase,
    oldPds: pdsEndpoint(session.didDoc) || oldBase,
    did: session.did,
    oldHandle: session.handle,
    oldEmail: session.email || '',
    oldTokens: remote.tokens,
  };
}

/** Creates the account here with a service-auth token from the old server (or signs in to it when
 * an earlier attempt already created it). */
export async function createHere({ old, here }, progress, { handle, email, password, inviteCode }) {
  const description = await here.call('com.atproto.server.describeServer', { anonymous: true });
  const exp = Math.floor(Date.now() / 1000) + 180;
  const { token } = await old.call('com.atproto.server.getServiceAuth', { params: { aud: description.did || config.serviceDid, lxm: 'com.atproto.server.createAccount', exp } });
  try {
    const created = await here.call('com.atproto.server.createAccount', {
      body: { did: progress.did, handle, email, password, inviteCode: inviteCode || undefined },
      token,
    });
    here.tokens = { accessJwt: created.accessJwt, refreshJwt: created.refreshJwt };
    here.onTokens(here.tokens);
  } catch (e) {
    if (!/already exists/i.test(e.message || '')) throw e;
    await here.signIn(progress.did, password);
  }
}

/** Imports the old server's export of the repository. */
export async function copyRepo({ old, here }, progress) {
  const response = await old.call('com.atproto.sync.getRepo', { params: { did: progress.did }, raw: true });
  const car = await response.blob();
  await here.call('com.atproto.repo.importRepo', { body: car, encoding: 'application/vnd.ipld.car' });
}

/** Copies every image the repository uses and this server lacks; `onProgress(done, total)`. */
export async function copyBlobs({ old, here }, progress, onProgress) {
  const status = await here.call('com.atproto.server.checkAccountStatus');
  const total = status.expectedBlobs || 0;
  let done = status.importedBlobs || 0;
  onProgress(done, total);
  let cursor;
  for (;;) {
    const page = await here.call('com.atproto.repo.listMissingBlobs', { params: { limit: 100, cursor } });
    const blobs = page.blobs || [];
    if (blobs.length === 0) return;
    for (const { cid } of blobs) {
      const response = await old.call('com.atproto.sync.getBlob', { params: { did: progress.did, cid }, raw: true });
      const blob = await response.blob();
      await here.call('com.atproto.repo.uploadBlob', { body: blob, encoding: response.headers.get('content-type') || 'application/octet-stream' });
      done += 1;
      onProgress(done, Math.max(total, done));
    }
    cursor = page.cursor;
    if (!cursor) return;
  }
}

/** Copies the app settings (muted words, feeds, content filters). */
export async function copyPreferences({ old, here }) {
  const { preferences } = await old.call('app.bsky.actor.getPreferences');
  await here.call('app.bsky.actor.putPreferences', { body: { preferences: preferences || [] } });
}

/** Whether the identity already names this server (an earlier attempt got that far). */
export async function identityPointsHere({ here }, progress) {
  const data = await here.call('blue.skyhold.identity.getPlcData', { params: { did: progress.did } });
  const pds = data.services && data.services.atproto_pds;
  return !!pds && pds.endpoint.replace(/\/+$/, '') === config.publicUrl;
}

/** Asks the old server to email the code that confirms the identity change. */
export function requestCode({ old }) {
  return old.call('com.atproto.identity.requestPlcOperationSignature', { body: {} });
}

/**
 * The rotation keys after the move: the member's own keys first (a paper recovery key), then this
 * server's; the old server's are dropped. At most five, as did:plc allows.
 */
export function nextRotationKeys(current, oldServer, newServer) {
  const keep = (current || []).filter((k) => !(oldServer || []).includes(k) && !(newServer || []).includes(k));
  return [...keep, ...(newServer || [])].slice(0, 5);
}

/** The old server signs the identity change with the code; this server submits it. */
export async function changeIdentity({ old, here }, progress, code) {
  const wanted = await here.call('com.atproto.identity.getRecommendedDidCredentials');
  const current = await here.call('blue.skyhold.identity.getPlcData', { params: { did: progress.did } });
  const oldKeys = await old.call('com.atproto.identity.getRecommendedDidCredentials').then((r) => r.rotationKeys || [], () => []);
  const { operation } = await old.call('com.atproto.identity.signPlcOperation', {
    body: {
      token: code.trim(),
      rotationKeys: nextRotationKeys(current.rotationKeys, oldKeys, wanted.rotationKeys),
      alsoKnownAs: wanted.alsoKnownAs,
      verificationMethods: wanted.verificationMethods,
      services: wanted.services,
    },
  });
  await here.call('com.atproto.identity.submitPlcOperation', { body: { operation } });
}

/** Switches the account on here and off there; returns this server's session for the page. */
export async function finish({ old, here }) {
  const status = await here.call('com.atproto.server.checkAccountStatus');
  if (!status.activated) await here.call('com.atproto.server.activateAccount', { body: {} });
  try {
    await old.call('com.atproto.server.deactivateAccount', { body: {} });
  } catch (e) {
    // Already deactivated by an earlier attempt: nothing left to do there.
    if (!/deactivated/i.test(`${e.error} ${e.message}`)) throw e;
  }
  const session = await here.call('com.atproto.server.getSession');
  return { ...session, ...here.tokens };
}
