// Views that few people open bring their own words and styles: the admin console and the
// portability pages load `locales/en.<part>.json` and `styles/<part>.css` with their first view,
// so the first load of the member client stays small (docs/PERFORMANCE.md).

import { config } from './config.js';
import { addMessages, locale } from './i18n.js';

const loaded = new Map();

function stylesheet(href) {
  return new Promise((resolve, reject) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    link.onload = resolve;
    link.onerror = () => reject(new Error(`styles: ${href}`));
    document.head.append(link);
  });
}

/** Loads the catalog part and stylesheet `name` once. */
export function loadPart(name) {
  if (!loaded.has(name)) {
    const words = fetch(`${config.assets}locales/${locale}.${name}.json`).then((r) => {
      if (!r.ok) throw new Error(`messages: ${r.status}`);
      return r.json();
    });
    const promise = Promise.all([words.then(addMessages), stylesheet(`${config.assets}styles/${name}.css`)]);
    promise.catch(() => loaded.delete(name));
    loaded.set(name, promise);
  }
  return loaded.get(name);
}

/** A route's loader: the view's module with its part. */
export function withPart(name, load) {
  return () => Promise.all([load(), loadPart(name)]).then(([module]) => module);
}
