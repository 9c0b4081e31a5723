// The message catalog (web/locales/en.json, and the parts views load with their first page:
// en.console.json for the admin console, en.portability.json for recovery keys, backups and
// moving) holds every word the UI shows: every key the code asks for exists in a catalog that
// code can reach, every entry is used, no key is in two parts, and entries are well formed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../../../web/', import.meta.url));
const read = (name) => JSON.parse(readFileSync(join(web, 'locales', name), 'utf8'));
const core = read('en.json');
const parts = {
  console: read('en.console.json'),
  portability: read('en.portability.json'),
};

/** Which part a source file may use besides the core catalog (the route loads it first). */
function partOf(path) {
  if (path.startsWith('views/console/') || path === 'components/console.js') return 'console';
  if (['views/recovery-key.js', 'views/backup.js', 'views/move-out.js', 'views/move-in.js'].includes(path)) return 'portability';
  return null;
}

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'vendor' ? [] : sources(path);
    return name.endsWith('.js') ? [{ path: relative(web, path), text: readFileSync(path, 'utf8') }] : [];
  });
}

const files = sources(web);
// Keys built at run time, with the values they take.
const dynamic = {
  'notifications.reason.': ['like', 'repost', 'follow', 'like-via-repost', 'repost-via-repost', 'reply', 'mention', 'quote', 'starterpack-joined', 'verified', 'unverified', 'subscribed-post'],
  'notifications.kind.': ['reply', 'mention', 'quote'],
  'profile.empty.': ['posts', 'replies', 'media', 'likes'],
  'report.reason.': ['spam', 'violation', 'misleading', 'sexual', 'rude', 'other'].flatMap((r) => [r, `${r}.hint`]),
  'notificationSettings.kind.': ['reply', 'mention', 'quote', 'like', 'repost', 'follow', 'likeViaRepost', 'repostViaRepost'],
  'actors.': ['followers', 'follows', 'likedBy', 'repostedBy', 'noFollowers', 'noFollows', 'noLikes', 'noReposts'],
  'console.nav.': ['overview', 'reports', 'accounts', 'invites', 'network', 'server', 'audit'],
  'console.status.': ['active', 'suspended', 'takendown', 'deactivated'],
  'console.reports.reason.': ['spam', 'violation', 'misleading', 'sexual', 'rude', 'appeal', 'other'],
  'console.reports.action.': ['takedownRecord', 'takedownAccount', 'suspendAccount', 'dismiss'].flatMap((a) => [a, `${a}.hint`]),
  'console.reports.confirm.': ['takedownRecord', 'takedownAccount', 'suspendAccount', 'dismiss'],
  'console.network.status.': ['active', 'idle', 'offline', 'throttled', 'banned'],
  'console.mail.purpose.': ['confirm_email', 'update_email', 'reset_password', 'delete_account', 'plc_operation'],
  'console.action.': [
    'account.takedown', 'account.restore', 'account.deactivate', 'account.activate', 'account.suspend', 'account.handle',
    'account.email', 'account.password', 'account.delete', 'account.invitesDisabled', 'account.invitesEnabled',
    'record.takedown', 'record.restore', 'blob.takedown', 'blob.restore', 'invite.create', 'invite.disable', 'report.resolve',
    'host.add', 'host.ban', 'host.unban', 'crawl.request', 'role.grant', 'role.revoke', 'email.test', 'backup',
  ],
  'moveIn.step.': ['signin', 'account', 'repo', 'blobs', 'prefs', 'plc', 'finish'],
};

function keysIn(text) {
  const used = new Set([...text.matchAll(/\bt\(\s*'([a-zA-Z0-9.-]+)'/g)].map((m) => m[1]));
  for (const m of text.matchAll(/key: '(error\.[a-zA-Z]+)'|'(error\.[a-zA-Z]+)'/g)) used.add(m[1] || m[2]);
  for (const m of text.matchAll(/key: '(console\.[a-zA-Z.]+)'/g)) used.add(m[1]);
  return used;
}

test('every key the code uses is in a catalog it can reach', () => {
  const missing = [];
  for (const { path, text } of files) {
    const part = partOf(path);
    for (const key of keysIn(text)) {
      if (!(key in core) && !(part && key in parts[part])) missing.push(`${path}: ${key}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every entry is used, and no key is in two parts', () => {
  const used = new Set(files.flatMap(({ text }) => [...keysIn(text)]));
  for (const [prefix, values] of Object.entries(dynamic)) for (const v of values) used.add(prefix + v);
  for (const [name, catalog] of [['en.json', core], ...Object.entries(parts).map(([n, c]) => [`en.${n}.json`, c])]) {
    const unused = Object.keys(catalog).filter((k) => !used.has(k));
    assert.deepEqual(unused, [], `entries of ${name} nothing uses`);
  }
  const partKeys = Object.values(parts).flatMap((c) => Object.keys(c));
  const twice = partKeys.filter((k, i) => k in core || partKeys.indexOf(k) !== i);
  assert.deepEqual(twice, []);
});

test('entries are strings or plural forms with "other"', () => {
  for (const catalog of [core, ...Object.values(parts)]) {
    for (const [key, value] of Object.entries(catalog)) {
      if (typeof value === 'string') continue;
      assert.equal(typeof value, 'object', key);
      assert.equal(typeof value.other, 'string', `${key} needs an "other" form`);
    }
  }
});
