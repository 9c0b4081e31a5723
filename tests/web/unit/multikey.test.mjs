// The paper recovery key's encodings (web/lib/multikey.js): base58btc against known vectors, the
// did:key and multibase secret of a P-256 key made by WebCrypto (as the browser does), and the
// grouping printed on paper. `skyhold recover` reading such a key is tested end to end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto, createPublicKey } from 'node:crypto';
import { base58, unbase58, compressPoint, fromJwk, generate, groupForPaper } from '../../../web/lib/multikey.js';

const bytes = (text) => new TextEncoder().encode(text);

test('base58btc matches the known vectors and round-trips', () => {
  assert.equal(base58(bytes('Hello World!')), '2NEpo7TZRRrLZSi2U');
  assert.equal(base58(bytes('The quick brown fox jumps over the lazy dog.')), 'USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z');
  assert.equal(base58(Uint8Array.from([0, 0, 0x28, 0x7f, 0xb4, 0xcd])), '11233QC4');
  assert.equal(base58(new Uint8Array(0)), '');
  for (const sample of [Uint8Array.from([0, 1, 2]), Uint8Array.from([255, 255]), bytes('skyhold')]) {
    assert.deepEqual(unbase58(base58(sample)), sample);
  }
  assert.throws(() => unbase58('0OIl'));
});

test('a WebCrypto P-256 key becomes a did:key and a multibase secret', async () => {
  const key = await generate(webcrypto.subtle);
  assert.match(key.didKey, /^did:key:zDn[1-9A-HJ-NP-Za-km-z]+$/, 'p256 did:keys start with zDn');
  assert.match(key.secret, /^z[1-9A-HJ-NP-Za-km-z]+$/);
  const secret = unbase58(key.secret.slice(1));
  assert.deepEqual([...secret.slice(0, 2)], [0x86, 0x26], 'multicodec p256-priv');
  assert.equal(secret.length, 34);
  const pub = unbase58(key.didKey.slice('did:key:z'.length));
  assert.deepEqual([...pub.slice(0, 2)], [0x80, 0x24], 'multicodec p256-pub');
  assert.equal(pub.length, 35);
});

test('the did:key is the public half of the secret (checked by Node against the JWK)', async () => {
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  const jwk = await webcrypto.subtle.exportKey('jwk', pair.privateKey);
  const { didKey } = fromJwk(jwk);
  const spki = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  // The last 65 bytes of the SPKI are the uncompressed point 04 ‖ x ‖ y.
  const point = spki.subarray(spki.length - 65);
  const compressed = compressPoint(point.subarray(1, 33), point.subarray(33));
  assert.deepEqual(unbase58(didKey.slice('did:key:z'.length)).subarray(2), compressed);
});

test('paper groups of four, six to a line, read back by removing the spaces', () => {
  const text = 'z' + 'a'.repeat(47);
  const paper = groupForPaper(text);
  assert.equal(paper.split('\n').length, 2);
  assert.equal(paper.split('\n')[0].split(' ').length, 6);
  assert.equal(paper.replace(/\s/g, ''), text);
});
