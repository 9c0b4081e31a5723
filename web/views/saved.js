// Saved posts: the member's bookmarks (app.bsky.bookmark.getBookmarks), newest first. Only the
// member sees them.

import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { ViewHeader, Empty, useTitle } from '../components/ui.js';
import { PagedList } from '../components/feed.js';
import { PostCard } from '../components/post.js';

function Item({ bookmark }) {
  const item = bookmark.item || {};
  if (item.$type === 'app.bsky.feed.defs#postView' || (item.author && item.record)) return html`<${PostCard} post=${item} />`;
  const text = item.$type === 'app.bsky.feed.defs#blockedPost' ? t('thread.blocked') : t('thread.notFound');
  return html`<div class="post post-gone muted">${text}</div>`;
}

export default function Saved() {
  useTitle(t('saved.title'));
  return html`<div>
    <${ViewHeader} title=${t('saved.title')} />
    <${PagedList} cacheKey="saved" label=${t('saved.title')} itemKey=${(b) => b.subject.uri}
      load=${(cursor, signal) => query('app.bsky.bookmark.getBookmarks', { limit: 30, cursor }, { signal }).then((r) => ({ items: r.bookmarks || [], cursor: r.cursor }))}
      renderItem=${(b) => html`<${Item} bookmark=${b} />`}
      empty=${html`<${Empty} title=${t('saved.empty')}><p class="muted">${t('saved.emptyHint')}</p></${Empty}>`} />
  </div>`;
}
