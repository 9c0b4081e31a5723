// Rich-text facets: finding mentions, links and hashtags in a post's text, with the byte offsets
// (UTF-8) the lexicon wants, and splitting a text back into segments to render.
// Spec: app.bsky.richtext.facet (byteStart inclusive, byteEnd exclusive, counted in UTF-8 bytes).
// Pure: runs in the browser and in Node's test runner.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const MENTION = 'app.bsky.richtext.facet#mention';
export const LINK = 'app.bsky.richtext.facet#link';
export const TAG = 'app.bsky.richtext.facet#tag';

/** Longest hashtag the lexicon allows (maxGraphemes 64, maxLength 640 bytes). */
const MAX_TAG = 64;

// A handle: labels of letters, digits and hyphens joined by dots, at least two labels
// (https://atproto.com/specs/handle). Preceded by the start, a space or an opening bracket.
const MENTION_RE = /(^|[\s(])@([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+)/g;
// Explicit web links, and bare ones starting with www.
const LINK_RE = /(^|[\s(])((?:https?:\/\/|www\.)[^\s<>"]+)/gi;
// A hashtag: # then anything up to a space or punctuation; digits alone are not a tag.
const TAG_RE = /(^|\s)[#＃]([^\s\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2!"#$%&'()*+,./:;<=>?@[\\\]^`{|}~]+)/gu;

function byteOffset(text, index) {
  return encoder.encode(text.slice(0, index)).length;
}

/** Trailing punctuation that belongs to the sentence, not the link (and a `)` with no `(`). */
function trimLink(url) {
  let out = url.replace(/[.,;:!?'"]+$/, '');
  if (out.endsWith(')') && !out.includes('(')) out = out.slice(0, -1);
  return out;
}

function facet(text, start, end, feature) {
  return {
    index: { byteStart: byteOffset(text, start), byteEnd: byteOffset(text, end) },
    features: [feature],
  };
}

/**
 * The facets of `text`, in text order. Mentions carry the handle in `handle` (a DID must be
 * filled in by `resolveMentions` before the facet is valid).
 */
export function detectFacets(text) {
  const found = [];
  for (const m of text.matchAll(MENTION_RE)) {
    const handle = m[2].replace(/\.+$/, '');
    if (!/\.[a-zA-Z][a-zA-Z0-9-]*$/.test(handle)) continue;
    const start = m.index + m[1].length;
    found.push({ start, end: start + 1 + handle.length, feature: { $type: MENTION, did: '' }, handle });
  }
  for (const m of text.matchAll(LINK_RE)) {
    const url = trimLink(m[2]);
    const start = m.index + m[1].length;
    const uri = /^https?:\/\//i.test(url) ? url : `https://${url}`;
    if (!isUrl(uri)) continue;
    found.push({ start, end: start + url.length, feature: { $type: LINK, uri } });
  }
  for (const m of text.matchAll(TAG_RE)) {
    let tag = m[2].replace(/\p{P}+$/u, '');
    if (!tag || /^\d+$/.test(tag) || [...tag].length > MAX_TAG) continue;
    const start = m.index + m[1].length;
    found.push({ start, end: start + 1 + tag.length, feature: { $type: TAG, tag } });
  }
  found.sort((a, b) => a.start - b.start);
  const out = [];
  let last = -1;
  for (const f of found) {
    if (f.start < last) continue; // overlapping: the earlier facet wins
    last = f.end;
    const result = facet(text, f.start, f.end, f.feature);
    if (f.handle) result.handle = f.handle;
    out.push(result);
  }
  return out;
}

function isUrl(text) {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname.includes('.');
  } catch {
    return false;
  }
}

/**
 * Fills in the DID of each mention with `resolve(handle)` (which returns a DID or null) and
 * drops mentions that do not resolve; returns facets without the helper `handle` field.
 */
export async function resolveMentions(facets, resolve) {
  const out = [];
  for (const f of facets) {
    if (!f.handle) {
      out.push(f);
      continue;
    }
    const did = await resolve(f.handle.toLowerCase()).catch(() => null);
    if (did) out.push({ index: f.index, features: [{ $type: MENTION, did }] });
  }
  return out;
}

/**
 * `text` cut into segments `{ text, feature? }` along its facets, for rendering. Facets that are
 * out of range, overlap or do not fall on character boundaries are ignored, as the lexicon says
 * clients should.
 */
export function segments(text, facets) {
  const bytes = encoder.encode(text);
  const sorted = (facets || [])
    .filter((f) => f && f.index && Number.isInteger(f.index.byteStart) && Number.isInteger(f.index.byteEnd))
    .filter((f) => f.index.byteStart >= 0 && f.index.byteEnd <= bytes.length && f.index.byteStart < f.index.byteEnd)
    .sort((a, b) => a.index.byteStart - b.index.byteStart);
  const out = [];
  let at = 0;
  const push = (start, end, feature) => {
    if (end <= start) return;
    const part = decoder.decode(bytes.subarray(start, end));
    if (feature) out.push({ text: part, feature });
    else out.push({ text: part });
  };
  const boundary = (i) => i === bytes.length || (bytes[i] & 0xc0) !== 0x80;
  for (const f of sorted) {
    const { byteStart, byteEnd } = f.index;
    if (byteStart < at || !boundary(byteStart) || !boundary(byteEnd)) continue;
    const feature = (f.features || []).find((x) => x && [MENTION, LINK, TAG].includes(x.$type));
    if (!feature) continue;
    push(at, byteStart);
    push(byteStart, byteEnd, feature);
    at = byteEnd;
  }
  push(at, bytes.length);
  return out;
}

/** A link's text as shown: without the scheme, and cut after 30 characters of path. */
export function shortenLink(uri) {
  try {
    const url = new URL(uri);
    const rest = `${url.pathname === '/' ? '' : url.pathname}${url.search}${url.hash}`;
    const host = url.host.replace(/^www\./, '');
    return rest.length > 30 ? `${host}${rest.slice(0, 27)}…` : `${host}${rest}`;
  } catch {
    return uri;
  }
}
