// Home: the Following timeline and the "Everyone here" community feed (the App View's built-in
// feed of every post it indexes) as tabs. Signed-out visitors get views/landing.js instead.

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { config } from '../lib/config.js';
import { published } from '../lib/state.js';
import { ViewHeader, Tabs, Empty, useTitle } from '../components/ui.js';
import { PagedList } from '../components/feed.js';
import { PostCard } from '../components/post.js';
import { openComposer } from '../components/dialogs.js';

const TAB_KEY = 'skyhold.homeTab';
const PAGE = 50;

function feedItem(item) {
  const parent = item.reply && item.reply.parent && item.reply.parent.author;
  return html`<${PostCard} post=${item.post} reason=${item.reason} parentAuthor=${parent} />`;
}

const keyOf = (item) => `${item.post.uri}|${item.reason ? item.reason.by?.did : ''}`;

/** Posts published from this page after it opened, shown at the top before the feed lists them. */
function usePublished() {
  const [items, setItems] = useState([]);
  const [since] = useState(() => Date.now());
  const p = published.value;
  useEffect(() => {
    if (!p || p.at < since) return undefined;
    let timer = null;
    const fetchIt = (attempt) =>
      query('app.bsky.feed.getPosts', { uris: [p.uri] }).then((r) => {
        const post = r.posts && r.posts[0];
        if (post && !post.record?.reply) setItems((list) => [{ post }, ...list]);
        else if (!post && attempt < 5) timer = setTimeout(() => fetchIt(attempt + 1), 400 * (attempt + 1));
      }, () => {});
    fetchIt(0);
    return () => clearTimeout(timer);
  }, [p]);
  return items;
}

export default function Home() {
  const [tab, setTab] = useState(() => localStorage.getItem(TAB_KEY) || 'following');
  const fresh = usePublished();
  useTitle(t('home.title'));
  const select = (id) => {
    localStorage.setItem(TAB_KEY, id);
    setTab(id);
  };
  const load =
    tab === 'following'
      ? (cursor, signal) => query('app.bsky.feed.getTimeline', { limit: PAGE, cursor }, { signal }).then((r) => ({ items: r.feed || [], cursor: r.cursor }))
      : (cursor, signal) => query('app.bsky.feed.getFeed', { feed: config.everyoneFeed, limit: PAGE, cursor }, { signal }).then((r) => ({ items: r.feed || [], cursor: r.cursor }));
  const empty =
    tab === 'following'
      ? html`<${Empty} title=${t('home.followingEmpty')}>
          <p class="muted">${t('home.followingEmptyHint')}</p>
          <div class="stack-buttons">
            <button type="button" class="button" onClick=${() => select('everyone')}>${t('home.seeEveryone')}</button>
            <button type="button" class="button secondary" onClick=${() => openComposer()}>${t('nav.newPost')}</button>
          </div>
        </${Empty}>`
      : html`<${Empty} title=${t('home.everyoneEmpty')}>
          <button type="button" class="button" onClick=${() => openComposer()}>${t('home.writeFirst')}</button>
        </${Empty}>`;
  return html`<div>
    <${ViewHeader} title=${t('home.title')}>
      <${Tabs} label=${t('home.feeds')} active=${tab} onSelect=${select} tabs=${[
        { id: 'following', label: t('home.following') },
        { id: 'everyone', label: t('home.everyone') },
      ]} />
    </${ViewHeader}>
    <div role="tabpanel" aria-label=${tab === 'following' ? t('home.following') : t('home.everyone')}>
      <${PagedList} key=${tab} cacheKey=${`home:${tab}`} load=${load} renderItem=${feedItem} itemKey=${keyOf}
        label=${tab === 'following' ? t('home.following') : t('home.everyone')} empty=${empty} measure prepend=${fresh} />
    </div>
  </div>`;
}
