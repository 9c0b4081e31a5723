// The message catalog (web/locales/en.json) holds every word the UI shows: every key the code
// asks for exists, every entry is used, and placeholders are well formed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../../../web/', import.meta.url));
const catalog = JSON.parse(readFileSync(join(web, 'locales/en.json'), 'utf8'));

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'vendor' ? [] : sources(path);
    return name.endsWith('.js') ? [readFileSync(path, 'utf8')] : [];
  });
}

const code = sources(web).join('\n');
// Keys built at run time, with the values they take.
const dynamic = {
  'notifications.reason.': ['like', 'repost', 'follow', 'like-via-repost', 'repost-via-repost', 'reply', 'mention', 'quote', 'starterpack-joined', 'verified', 'unverified', 'subscribed-post'],
  'notifications.kind.': ['reply', 'mention', 'quote'],
  'profile.empty.': ['posts', 'replies', 'media', 'likes'],
  'report.reason.': ['spam', 'violation', 'misleading', 'sexual', 'rude', 'other'].flatMap((r) => [r, `${r}.hint`]),
  'notificationSettings.kind.': ['reply', 'mention', 'quote', 'like', 'repost', 'follow', 'likeViaRepost', 'repostViaRepost'],
  'actors.': ['followers', 'follows', 'likedBy', 'repostedBy', 'noFollowers', 'noFollows', 'noLikes', 'noReposts'],
};

test('every key the code uses is in the catalog', () => {
  const used = new Set([...code.matchAll(/\bt\(\s*'([a-zA-Z0-9.-]+)'/g)].map((m) => m[1]));
  for (const m of code.matchAll(/key: '(error\.[a-zA-Z]+)'|'(error\.[a-zA-Z]+)'/g)) used.add(m[1] || m[2]);
  for (const [prefix, values] of Object.entries(dynamic)) for (const v of values) used.add(prefix + v);
  const missing = [...used].filter((k) => !(k in catalog));
  assert.deepEqual(missing, []);
  const unused = Object.keys(catalog).filter((k) => !used.has(k));
  assert.deepEqual(unused, [], 'entries nothing uses');
});

test('entries are strings or plural forms with "other"', () => {
  for (const [key, value] of Object.entries(catalog)) {
    if (typeof value === 'string') continue;
    assert.equal(typeof value, 'object', key);
    assert.equal(typeof value.other, 'string', `${key} needs an "other" form`);
  }
});
