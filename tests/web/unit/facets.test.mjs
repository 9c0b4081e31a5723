// Facet detection and rendering (web/lib/facets.js): byte offsets in UTF-8 as the lexicon wants.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFacets, resolveMentions, segments, shortenLink, MENTION, LINK, TAG } from '../../../web/lib/facets.js';

const bytes = (s) => new TextEncoder().encode(s).length;
const slice = (text, f) => new TextDecoder().decode(new TextEncoder().encode(text).subarray(f.index.byteStart, f.index.byteEnd));

test('mentions, links and tags with UTF-8 byte offsets', () => {
  const text = 'Grüße @ana.test! See https://example.com/a?b=1. #garden 🌷 #tag2';
  const facets = detectFacets(text);
  assert.deepEqual(facets.map((f) => slice(text, f)), ['@ana.test', 'https://example.com/a?b=1', '#garden', '#tag2']);
  assert.equal(facets[0].features[0].$type, MENTION);
  assert.equal(facets[0].handle, 'ana.test');
  assert.equal(facets[0].index.byteStart, bytes('Grüße '), 'ü and ß take two bytes each');
  assert.deepEqual(facets[1].features[0], { $type: LINK, uri: 'https://example.com/a?b=1' });
  assert.deepEqual(facets[2].features[0], { $type: TAG, tag: 'garden' });
  assert.deepEqual(facets[3].features[0], { $type: TAG, tag: 'tag2' });
});

test('what is not a facet', () => {
  const none = (text) => assert.deepEqual(detectFacets(text), [], text);
  none('email me at bob@example.com');
  none('@nodot is not a handle');
  none('#123 is a number, not a tag');
  none('a#b is not a tag');
  none('ftp://example.com is not a web link');
});

test('links: trailing punctuation stays in the sentence; www gets https', () => {
  const text = '(see https://example.com/path) and www.example.org.';
  const facets = detectFacets(text);
  assert.deepEqual(facets.map((f) => slice(text, f)), ['https://example.com/path', 'www.example.org']);
  assert.equal(facets[1].features[0].uri, 'https://www.example.org');
});

test('mentions are resolved to DIDs; unknown handles are dropped', async () => {
  const facets = detectFacets('hi @ana.test and @nobody.test');
  const resolved = await resolveMentions(facets, async (h) => (h === 'ana.test' ? 'did:plc:ana' : null));
  assert.equal(resolved.length, 1);
  assert.deepEqual(resolved[0].features, [{ $type: MENTION, did: 'did:plc:ana' }]);
  assert.equal('handle' in resolved[0], false);
});

test('segments follow the facets and skip broken ones', () => {
  const text = 'héllo #world';
  const [tag] = detectFacets(text);
  assert.deepEqual(segments(text, [tag]), [{ text: 'héllo ' }, { text: '#world', feature: { $type: TAG, tag: 'world' } }]);
  // Out of range, overlapping, mid-character and unknown features are ignored.
  const broken = [
    { index: { byteStart: 0, byteEnd: 99 }, features: [{ $type: LINK, uri: 'https://x.y' }] },
    { index: { byteStart: 2, byteEnd: 3 }, features: [{ $type: LINK, uri: 'https://x.y' }] },
    { index: { byteStart: 0, byteEnd: 1 }, features: [{ $type: 'app.example#unknown' }] },
  ];
  assert.deepEqual(segments(text, broken), [{ text }]);
  assert.deepEqual(segments('plain', undefined), [{ text: 'plain' }]);
});

test('links are shown shortened', () => {
  assert.equal(shortenLink('https://www.example.com/'), 'example.com');
  assert.equal(shortenLink('https://example.com/a/very/long/path/that/goes/on/and/on'), 'example.com/a/very/long/path/that/goes…');
});
