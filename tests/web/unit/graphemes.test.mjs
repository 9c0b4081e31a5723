// Grapheme counting for the 300-character limit (web/lib/graphemes.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countGraphemes, postLength, utf8Length, MAX_POST_GRAPHEMES } from '../../../web/lib/graphemes.js';

test('what a person sees as one character counts once', () => {
  assert.equal(countGraphemes(''), 0);
  assert.equal(countGraphemes('abc'), 3);
  assert.equal(countGraphemes('e\u0301'), 1, 'e + combining accent');
  assert.equal(countGraphemes('👩‍👩‍👧‍👦'), 1, 'a family emoji (ZWJ sequence)');
  assert.equal(countGraphemes('🇫🇷🇯🇵'), 2, 'two flags');
  assert.equal(countGraphemes('👍🏽'), 1, 'skin tone modifier');
});

test('the post limit', () => {
  assert.deepEqual(postLength('a'.repeat(300)), { graphemes: 300, remaining: 0, fits: true });
  assert.deepEqual(postLength('a'.repeat(301)), { graphemes: 301, remaining: -1, fits: false });
  const emoji = '👩‍👩‍👧‍👦'.repeat(MAX_POST_GRAPHEMES);
  assert.equal(postLength(emoji).graphemes, 300);
  assert.equal(postLength(emoji).fits, false, '300 family emoji are over the 3000-byte limit');
  assert.equal(utf8Length('é'), 2);
});
