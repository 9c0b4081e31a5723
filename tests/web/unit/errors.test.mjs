// Error mapping (web/lib/errors.js): every failure becomes words from the catalog.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describeError } from '../../../web/lib/errors.js';

const catalog = JSON.parse(readFileSync(new URL('../../../web/locales/en.json', import.meta.url), 'utf8'));

test('known errors map to their message', () => {
  const check = (error, key, options) => assert.equal(describeError(error, options).key, key, JSON.stringify(error));
  check({ status: 0, error: 'NetworkError' }, 'error.network');
  check({ status: 0, error: 'NetworkError' }, 'error.offline', { online: false });
  check({ status: 0, error: 'Timeout' }, 'error.timeout');
  check({ status: 401, error: 'AuthenticationRequired', message: 'Invalid identifier or password' }, 'error.wrongPassword');
  check({ status: 400, error: 'InvalidInviteCode' }, 'error.invalidInvite');
  check({ status: 400, error: 'HandleNotAvailable' }, 'error.handleTaken');
  check({ status: 501, error: 'MethodNotImplemented' }, 'error.notSupported');
  check({ status: 429, error: 'Whatever' }, 'error.rateLimited');
  check({ status: 400, error: 'InvalidRequest', message: 'Profile not found' }, 'error.notFound');
  check({ status: 400, error: 'ExpiredToken', session: true }, 'error.sessionEnded', { signedIn: true });
  check({ status: 400, error: 'ExpiredToken' }, 'error.codeExpired');
});

test('a suspended or taken-down member reads until when and why', () => {
  const suspended = describeError({ status: 401, error: 'AccountTakedown', message: 'Account has been suspended until 2030-05-01T12:00:00.000Z: spam, again' });
  assert.equal(suspended.key, 'error.suspendedReason');
  assert.equal(suspended.values.reason, 'spam, again');
  assert.match(suspended.values.until, /2030/);
  assert.equal(describeError({ status: 401, error: 'AccountTakedown', message: 'Account has been suspended until 2030-05-01T12:00:00.000Z' }).key, 'error.suspended');
  assert.deepEqual(describeError({ status: 401, error: 'AccountTakedown', message: 'Account has been taken down: threats' }), { key: 'error.takedownReason', values: { reason: 'threats' } });
  assert.equal(describeError({ status: 401, error: 'AccountTakedown', message: 'Account has been taken down' }).key, 'error.takedown');
  for (const key of ['error.suspended', 'error.suspendedReason', 'error.takedownReason']) assert.ok(key in catalog, key);
});

test('server errors and unknown ones still say something', () => {
  assert.deepEqual(describeError({ status: 502, error: 'UpstreamFailure' }), { key: 'error.server', values: { status: 502 } });
  assert.deepEqual(describeError({ status: 400, error: 'Odd', message: 'odd thing' }), { key: 'error.withMessage', values: { message: 'odd thing' } });
  assert.deepEqual(describeError(null), { key: 'error.unknown' });
  assert.equal(describeError({ status: 400, error: 'InvalidHandle', message: 'Handle too short' }).values.message, 'Handle too short');
});

test('every key it can return is in the catalog', () => {
  const names = ['NetworkError', 'Timeout', 'AuthenticationRequired', 'AuthFactorTokenRequired', 'AccountTakedown', 'AccountDeactivated', 'InvalidHandle', 'HandleNotAvailable', 'UnsupportedDomain', 'InvalidInviteCode', 'InvalidPassword', 'InvalidEmail', 'ExpiredToken', 'InvalidToken', 'RateLimitExceeded', 'MethodNotImplemented', 'PayloadTooLarge', 'BlobTooLarge', 'BlockedActor', 'BlockedByActor', 'NotFound', 'RecordNotFound', 'ProfileNotFound', 'InvalidSwap', 'DuplicateCreate', 'ImageTooLarge', 'ImageUnreadable', 'Other'];
  for (const error of names) {
    for (const options of [{}, { online: false }, { signedIn: true }]) {
      const { key } = describeError({ status: 400, error, message: 'm', session: true }, options);
      assert.ok(key in catalog, `${key} (for ${error}) is missing from en.json`);
    }
  }
  for (const status of [0, 413, 429, 500, 503]) assert.ok(describeError({ status }).key in catalog);
});
