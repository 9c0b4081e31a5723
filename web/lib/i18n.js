// The message catalog (web/locales/en.json): every word the UI shows comes from it.
// `t(key, { name })` fills `{name}` placeholders; an entry that is an object picks its form by
// `Intl.PluralRules` from `count` (`{ "one": "{count} like", "other": "{count} likes" }`).

let messages = {};
let rules = new Intl.PluralRules('en');
let numbers = new Intl.NumberFormat('en');
export let locale = 'en';

/** Loads the catalog for `lang` from `url` (English is the only one today). */
export async function loadMessages(url, lang = 'en') {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`messages: ${response.status}`);
  setMessages(await response.json(), lang);
}

export function setMessages(catalog, lang = 'en') {
  messages = catalog;
  locale = lang;
  rules = new Intl.PluralRules(lang);
  numbers = new Intl.NumberFormat(lang);
}

/** Adds a part of the catalog (the admin console's words, say) to the messages. */
export function addMessages(part) {
  messages = { ...messages, ...part };
}

/** The message `key` with its placeholders filled; the key itself when it is missing. */
export function t(key, values) {
  let message = messages[key];
  if (message && typeof message === 'object') {
    const count = values && typeof values.count === 'number' ? values.count : 0;
    message = message[rules.select(count)] ?? message.other;
  }
  if (typeof message !== 'string') return key;
  if (!values) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name) => {
    const v = values[name];
    if (v === undefined || v === null) return whole;
    return typeof v === 'number' ? numbers.format(v) : String(v);
  });
}
