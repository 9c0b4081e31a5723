// Notification grouping (web/lib/grouping.js), as the official app groups them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupNotifications } from '../../../web/lib/grouping.js';

const at = (hours) => new Date(Date.parse('2026-06-15T12:00:00Z') - hours * 3_600_000).toISOString();
const n = (uri, reason, did, hours, subject, isRead = false) => ({ uri, reason, reasonSubject: subject, author: { did, handle: did }, indexedAt: at(hours), isRead });

test('likes of one post within 48 hours are one row; replies stay apart', () => {
  const post = 'at://did:plc:me/app.bsky.feed.post/1';
  const groups = groupNotifications([
    n('l1', 'like', 'a', 1, post),
    n('r1', 'reply', 'b', 2, post),
    n('l2', 'like', 'b', 3, post),
    n('l3', 'like', 'a', 4, post, true),
    n('f1', 'follow', 'c', 5),
    n('f2', 'follow', 'd', 6, undefined, true),
    n('l4', 'like', 'e', 60, post),
    n('l5', 'like', 'e', 61, 'at://did:plc:me/app.bsky.feed.post/2'),
  ]);
  assert.deepEqual(groups.map((g) => [g.reason, g.items.map((i) => i.uri)]), [
    ['like', ['l1', 'l2', 'l3']],
    ['reply', ['r1']],
    ['follow', ['f1', 'f2']],
    ['like', ['l4']],
    ['like', ['l5']],
  ]);
  assert.deepEqual(groups[0].authors.map((a) => a.did), ['a', 'b'], 'each author once');
  assert.equal(groups[0].isRead, false);
  assert.equal(groups[2].subject, null);
});

test('an empty list', () => {
  assert.deepEqual(groupNotifications([]), []);
});
