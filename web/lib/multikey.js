// Keys as atproto writes them (https://atproto.com/specs/cryptography): base58btc, multicodec
// prefixes, compressed P-256 points, `did:key:`. Used to make a paper recovery key in the browser:
// WebCrypto generates the P-256 key (secp256k1 is not in WebCrypto; did:plc rotation keys may be
// either curve), this module writes its public half as a did:key and its secret as multibase text
// (`z…`, multicodec p256-priv), the form `skyhold recover` and goat read. Pure but for `generate`.

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Bytes → base58btc (Bitcoin alphabet); leading zero bytes become leading '1's. */
export function base58(bytes) {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const digits = []; // little-endian base-58 digits
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i];
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j] * 256;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  return '1'.repeat(zeros) + digits.reverse().map((d) => ALPHABET[d]).join('');
}

/** base58btc → bytes (throws on a character outside the alphabet). */
export function unbase58(text) {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  const bytes = []; // little-endian
  for (let i = zeros; i < text.length; i++) {
    let carry = ALPHABET.indexOf(text[i]);
    if (carry < 0) throw new Error(`not base58: ${text[i]}`);
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j] * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + bytes.length);
  out.set(bytes.reverse(), zeros);
  return out;
}

/** Multicodec varints: p256-pub 0x1200 and p256-priv 0x1306. */
const P256_PUB = [0x80, 0x24];
const P256_PRIV = [0x86, 0x26];

/** The compressed SEC1 form of a P-256 point from its 32-byte x and y. */
export function compressPoint(x, y) {
  const out = new Uint8Array(33);
  out[0] = 0x02 | (y[31] & 1);
  out.set(x, 1);
  return out;
}

/** `did:key:z…` of a compressed P-256 public key. */
export function p256DidKey(compressed) {
  return `did:key:z${base58(Uint8Array.from([...P256_PUB, ...compressed]))}`;
}

/** The multibase text of a P-256 secret scalar (32 bytes). */
export function p256Secret(d) {
  return `z${base58(Uint8Array.from([...P256_PRIV, ...d]))}`;
}

/** The secret written for paper: groups of four characters, six groups a line. */
export function groupForPaper(text) {
  const groups = text.match(/.{1,4}/g) || [];
  const lines = [];
  for (let i = 0; i < groups.length; i += 6) lines.push(groups.slice(i, i + 6).join(' '));
  return lines.join('\n');
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** A JWK of a P-256 private key → `{ didKey, secret }`. */
export function fromJwk(jwk) {
  const d = fromBase64Url(jwk.d);
  const x = fromBase64Url(jwk.x);
  const y = fromBase64Url(jwk.y);
  if (d.length !== 32 || x.length !== 32 || y.length !== 32) throw new Error('not a P-256 key');
  return { didKey: p256DidKey(compressPoint(x, y)), secret: p256Secret(d) };
}

/** A fresh P-256 key made by the browser's WebCrypto: `{ didKey, secret }`. */
export async function generate(subtle = globalThis.crypto.subtle) {
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  return fromJwk(await subtle.exportKey('jwk', pair.privateKey));
}
