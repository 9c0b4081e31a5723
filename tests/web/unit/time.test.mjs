// Relative times (web/lib/time.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relativeTime, compactNumber } from '../../../web/lib/time.js';

const now = Date.parse('2026-06-15T12:00:00Z');
const ago = (ms) => new Date(now - ms).toISOString();

test('short relative times, then dates', () => {
  const check = (date, expected) => assert.equal(relativeTime(date, now, 'en', 'now'), expected);
  check(ago(10_000), 'now');
  check(ago(5 * 60_000), '5m');
  check(ago(3 * 3_600_000), '3h');
  check(ago(2 * 86_400_000), '2d');
  check('2026-03-04T10:00:00Z', 'Mar 4');
  check('2025-03-04T10:00:00Z', 'Mar 4, 2025');
  check('not a date', '');
  check(new Date(now + 60_000).toISOString(), 'now', 'a clock a little ahead is not "in the future"');
});

test('counts', () => {
  assert.equal(compactNumber(1234, 'en'), '1,234');
  assert.equal(compactNumber(12_300, 'en'), '12.3K');
  assert.equal(compactNumber(undefined, 'en'), '0');
});
