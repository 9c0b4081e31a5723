// Relative times for posts and notifications ("5m", "3h", "Mar 4"), from Intl so they follow the
// reader's language. Pure: the clock is passed in.

const MINUTE = 60_000;

// Building an Intl formatter costs far more than using one: a timeline of 50 posts would build
// hundreds. They are made once per locale and options.
const formatters = new Map();
function formatter(kind, locale, options) {
  const key = `${kind}|${locale}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    f = kind === 'number' ? new Intl.NumberFormat(locale, options) : new Intl.DateTimeFormat(locale, options);
    formatters.set(key, f);
  }
  return f;
}
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A short relative time of `date` seen at `now`: `nowLabel` under a minute, then minutes, hours,
 * days (under a week), then the date.
 */
export function relativeTime(date, now, locale, nowLabel) {
  const then = new Date(date).getTime();
  if (Number.isNaN(then)) return '';
  const age = Math.max(0, now - then);
  const unit = (value, name) => formatter('number', locale, { style: 'unit', unit: name, unitDisplay: 'narrow' }).format(value);
  if (age < MINUTE) return nowLabel;
  if (age < HOUR) return unit(Math.floor(age / MINUTE), 'minute');
  if (age < DAY) return unit(Math.floor(age / HOUR), 'hour');
  if (age < 7 * DAY) return unit(Math.floor(age / DAY), 'day');
  const sameYear = new Date(then).getFullYear() === new Date(now).getFullYear();
  return formatter('date', locale, sameYear ? { month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short', day: 'numeric' }).format(then);
}

/** The full date and time, for tooltips and the focused post of a thread. */
export function fullTime(date, locale) {
  const then = new Date(date);
  if (Number.isNaN(then.getTime())) return '';
  return formatter('date', locale, { dateStyle: 'medium', timeStyle: 'short' }).format(then);
}

/** A count as people read it: 1,234 or 12K. */
export function compactNumber(n, locale) {
  return formatter('number', locale, { notation: n >= 10_000 ? 'compact' : 'standard', maximumFractionDigits: 1 }).format(n || 0);
}
