// Muted words (web/lib/muted-words.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mutedWordMatch } from '../../../web/lib/muted-words.js';

const post = (text, tags = []) => ({ text, facets: tags.map((tag) => ({ index: { byteStart: 0, byteEnd: 1 }, features: [{ $type: 'app.bsky.richtext.facet#tag', tag }] })) });
const word = (value, extra = {}) => ({ value, targets: ['content', 'tag'], actorTarget: 'all', ...extra });

test('whole words, any case; phrases anywhere; tags', () => {
  assert.ok(mutedWordMatch(post('Spoilers ahead: the SPOILER'), [word('spoiler')]));
  assert.equal(mutedWordMatch(post('unspoilered text'), [word('spoiler')]), null);
  assert.ok(mutedWordMatch(post('this is a Big Reveal today'), [word('big reveal')]));
  assert.ok(mutedWordMatch(post('nothing here', ['Politics']), [word('#politics')]));
});

test('tag-only entries, expiry and followed authors', () => {
  const now = Date.parse('2026-06-15T12:00:00Z');
  assert.equal(mutedWordMatch(post('politics talk'), [word('politics', { targets: ['tag'] })]), null);
  assert.ok(mutedWordMatch(post('x', ['politics']), [word('politics', { targets: ['tag'] })]));
  assert.equal(mutedWordMatch(post('politics'), [word('politics', { expiresAt: '2026-06-01T00:00:00Z' })], { now }), null);
  assert.equal(mutedWordMatch(post('politics'), [word('politics', { actorTarget: 'exclude-following' })], { isFollowed: true }), null);
  assert.equal(mutedWordMatch(post('anything'), []), null);
});
