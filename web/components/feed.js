// Lists loaded page by page with cursors: feeds of posts and lists of accounts. The next page
// loads when the end of the list scrolls into view (and a button does the same for keyboards);
// loading, slow, error, empty and end states are all spelled out. A list comes back as it was
// when the reader returns with the back button.

import { html, useState, useEffect, useRef, useLayoutEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { savedScroll } from '../lib/router.js';
import { Loading, ErrorNotice, Empty, Spinner } from './ui.js';

/** Lists kept for the back button: key → `{ items, cursor, done, at }`. */
const cache = new Map();
const CACHE_MAX = 8;
const CACHE_AGE_MS = 10 * 60_000;
let popped = false;
window.addEventListener('popstate', () => {
  popped = true;
  // Reset after this navigation has rendered.
  setTimeout(() => (popped = false), 1000);
});

function remember(key, entry) {
  cache.delete(key);
  cache.set(key, { ...entry, at: Date.now() });
  while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value);
}

/**
 * `load(cursor, signal)` resolves `{ items, cursor }`; `renderItem(item)` draws one;
 * `itemKey(item)` keys it. Posts make a `feed` (of articles); `list` makes a plain list (accounts). `cacheKey` names the list for the back button. `measure` marks the
 * first page's render time (performance entry `feed-render`).
 */
export function PagedList({ load, renderItem, itemKey, cacheKey, empty, label, measure = false, prepend = [], list: asList = false }) {
  const cached = popped && cacheKey && cache.get(cacheKey);
  const fresh = cached && Date.now() - cached.at < CACHE_AGE_MS;
  const [state, setState] = useState(() => (fresh ? { items: cached.items, cursor: cached.cursor, done: cached.done, loading: false, error: null } : { items: [], cursor: undefined, done: false, loading: true, error: null }));
  const sentinel = useRef(null);
  const list = useRef(null);
  const controller = useRef(null);
  const restoring = useRef(!!fresh);
  const dataAt = useRef(0);

  const fetchPage = async (reset = false) => {
    if (controller.current) controller.current.abort();
    const c = new AbortController();
    controller.current = c;
    setState((s) => ({ ...(reset ? { items: [], cursor: undefined, done: false } : s), loading: true, error: null }));
    try {
      const page = await load(reset ? undefined : state.cursor, c.signal);
      if (c.signal.aborted) return;
      if (measure && reset) dataAt.current = performance.now();
      setState((s) => {
        const items = reset ? page.items : [...s.items, ...page.items];
        // A cursor that brings nothing new ends the list.
        const done = !page.cursor || page.items.length === 0;
        const next = { items, cursor: page.cursor, done, loading: false, error: null };
        if (cacheKey) remember(cacheKey, next);
        return next;
      });
    } catch (error) {
      if (c.signal.aborted) return;
      setState((s) => ({ ...s, loading: false, error }));
    }
  };

  useEffect(() => {
    if (!fresh) fetchPage(true);
    return () => controller.current && controller.current.abort();
  }, [cacheKey]);

  // Restore the scroll position after the back button, once the items are on the page.
  useLayoutEffect(() => {
    if (restoring.current && state.items.length) {
      restoring.current = false;
      window.scrollTo(0, savedScroll());
    }
    if (dataAt.current && list.current) {
      // Forces style and layout, so the figure covers a page ready to paint.
      void list.current.offsetHeight;
      performance.measure('feed-render', { start: dataAt.current, end: performance.now() });
      dataAt.current = 0;
    }
  }, [state.items]);

  // The next page when the end of the list comes near.
  useEffect(() => {
    if (!sentinel.current || state.done || state.loading || state.error) return undefined;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) fetchPage(false);
    }, { rootMargin: '800px 0px' });
    observer.observe(sentinel.current);
    return () => observer.disconnect();
  }, [state.done, state.loading, state.error, state.cursor]);

  const items = [...prepend.filter((p) => !state.items.some((i) => itemKey(i) === itemKey(p))), ...state.items];
  if (state.loading && items.length === 0) return html`<${Loading} />`;
  if (state.error && items.length === 0) return html`<${ErrorNotice} error=${state.error} onRetry=${() => fetchPage(true)} />`;
  if (!state.loading && items.length === 0) return empty || html`<${Empty} title=${t('feed.empty')} />`;
  return html`<div class="paged-list">
    <div ref=${list} class="list-items" role=${asList ? 'list' : 'feed'} aria-label=${label} aria-busy=${state.loading ? 'true' : 'false'}>
      ${items.map((item) => html`<div class="list-item" role=${asList ? 'listitem' : undefined} key=${itemKey(item)}>${renderItem(item)}</div>`)}
    </div>
    <div ref=${sentinel} class="list-end">
      ${state.loading && html`<${Spinner} />`}
      ${state.error && html`<${ErrorNotice} error=${state.error} onRetry=${() => fetchPage(false)} compact />`}
      ${!state.loading && !state.error && !state.done && html`<button type="button" class="button secondary small" onClick=${() => fetchPage(false)}>${t('feed.loadMore')}</button>`}
      ${state.done && html`<p class="muted small">${t('feed.end')}</p>`}
    </div>
  </div>`;
}
