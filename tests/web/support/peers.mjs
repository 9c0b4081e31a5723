// The official atproto client libraries, as installed for the end-to-end peers in tests/peers
// (its package.json pins them; tests/run-all.sh runs `npm ci` there before these tests). One
// install serves both suites, so the browser tests drive exactly the versions the peers do.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const peers = resolve(dirname(fileURLToPath(import.meta.url)), '../../peers');

/** Imports a package installed in tests/peers (e.g. `@atproto/oauth-client-node`). */
export async function peerImport(name) {
  if (!existsSync(join(peers, 'node_modules', name))) {
    throw new Error(`${name} is not installed in tests/peers: run npm ci there with Node 22 (tests/run-all.sh does)`);
  }
  const require = createRequire(join(peers, 'package.json'));
  return import(pathToFileURL(require.resolve(name)).href);
}
