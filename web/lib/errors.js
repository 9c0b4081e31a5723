// What to tell a person when a call fails: an XRPC error (`{ status, error, message }`) mapped to a
// message key of the catalog (web/locales/en.json) and its values. Never a blank screen, never a
// stack trace. Pure: tested in Node.

/** Error names from the lexicons and the server, each with the message key that explains it. */
const BY_NAME = {
  NetworkError: 'error.network',
  Timeout: 'error.timeout',
  AuthenticationRequired: 'error.wrongPassword',
  AuthFactorTokenRequired: 'error.authFactor',
  PasswordNotConfirmed: 'error.passwordNotConfirmed',
  AccountTakedown: 'error.takedown',
  AccountDeactivated: 'error.deactivated',
  InvalidHandle: 'error.invalidHandle',
  HandleNotAvailable: 'error.handleTaken',
  UnsupportedDomain: 'error.unsupportedDomain',
  InvalidInviteCode: 'error.invalidInvite',
  InvalidPassword: 'error.invalidPassword',
  InvalidEmail: 'error.invalidEmail',
  ExpiredToken: 'error.codeExpired',
  InvalidToken: 'error.codeInvalid',
  RateLimitExceeded: 'error.rateLimited',
  MethodNotImplemented: 'error.notSupported',
  PayloadTooLarge: 'error.tooLarge',
  BlobTooLarge: 'error.tooLarge',
  BlockedActor: 'error.blocked',
  BlockedByActor: 'error.blockedBy',
  NotFound: 'error.notFound',
  RecordNotFound: 'error.notFound',
  ProfileNotFound: 'error.notFound',
  InvalidSwap: 'error.conflict',
  DuplicateCreate: 'error.conflict',
  ImageTooLarge: 'error.imageTooLarge',
  ImageUnreadable: 'error.imageUnreadable',
};

/** The full date a suspension ends, in the reader's time zone. */
const untilFormat = new Intl.DateTimeFormat('en', { dateStyle: 'long', timeStyle: 'short' });

/**
 * Why a member cannot sign in, from the server's words (`Account has been suspended until
 * <datetime>[: <reason>]`, `Account has been taken down[: <reason>]`; docs/BEHAVIORS.md).
 */
function takedown(message) {
  const suspended = /^Account has been suspended until (\S+?)(?:: ([\s\S]*))?$/.exec(message);
  if (suspended) {
    const date = new Date(suspended[1]);
    const until = Number.isNaN(date.getTime()) ? suspended[1] : untilFormat.format(date);
    if (suspended[2]) return { key: 'error.suspendedReason', values: { until, reason: suspended[2] } };
    return { key: 'error.suspended', values: { until } };
  }
  const takenDown = /^Account has been taken down: ([\s\S]+)$/.exec(message);
  if (takenDown) return { key: 'error.takedownReason', values: { reason: takenDown[1] } };
  return { key: 'error.takedown' };
}

/**
 * The catalog key and values for an error. `online` is false when the browser knows it has no
 * network. Tokens that stopped working while signed in are `error.sessionEnded`.
 */
export function describeError(error, { online = true, signedIn = false } = {}) {
  const e = error || {};
  const name = e.error || '';
  if (name === 'NetworkError' && !online) return { key: 'error.offline' };
  if (signedIn && (name === 'ExpiredToken' || name === 'InvalidToken' || name === 'AuthMissing') && e.session) {
    return { key: 'error.sessionEnded' };
  }
  if (name === 'InvalidRequest' && /not found/i.test(e.message || '')) return { key: 'error.notFound' };
  if (name === 'InvalidHandle') return { key: 'error.invalidHandle', values: { message: e.message || name } };
  if (name === 'AccountTakedown') return takedown(e.message || '');
  if (BY_NAME[name]) return { key: BY_NAME[name] };
  if (e.status === 429) return { key: 'error.rateLimited' };
  if (e.status === 413) return { key: 'error.tooLarge' };
  if (e.status >= 500) return { key: 'error.server', values: { status: e.status } };
  // The server's own words are the best we have for anything else (they are in English).
  if (e.message) return { key: 'error.withMessage', values: { message: e.message } };
  return { key: 'error.unknown' };
}
