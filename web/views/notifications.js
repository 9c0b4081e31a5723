// Notifications, grouped as the official app groups them (likes, reposts and follows of one
// subject within 48 hours in one row), with the subject posts fetched 25 at a time. Opening the
// view marks everything seen (app.bsky.notification.updateSeen) and clears the badge.

import { html, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query, procedure } from '../lib/xrpc.js';
import { unreadCount } from '../lib/state.js';
import { groupNotifications } from '../lib/grouping.js';
import { postPath, profilePath } from '../lib/router.js';
import { ViewHeader, Empty, Avatar, displayName, RelativeTime, useTitle } from '../components/ui.js';
import { PagedList } from '../components/feed.js';
import { PostCard } from '../components/post.js';
import { Icon } from '../components/icons.js';

const PAGE = 40;
const CHUNK = 25;
const ICONS = { like: 'heart', 'like-via-repost': 'heart', repost: 'repost', 'repost-via-repost': 'repost', follow: 'person' };
const WITH_POST = new Set(['reply', 'mention', 'quote']);

async function getPosts(uris, signal) {
  const out = new Map();
  const unique = [...new Set(uris)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const { posts } = await query('app.bsky.feed.getPosts', { uris: unique.slice(i, i + CHUNK) }, { signal });
    for (const p of posts || []) out.set(p.uri, p);
  }
  return out;
}

async function loadPage(cursor, signal) {
  const r = await query('app.bsky.notification.listNotifications', { limit: PAGE, cursor }, { signal });
  const groups = groupNotifications(r.notifications || []);
  const uris = [];
  for (const g of groups) {
    if (WITH_POST.has(g.reason)) uris.push(g.items[0].uri);
    else if (g.subject && g.subject.includes('/app.bsky.feed.post/')) uris.push(g.subject);
  }
  const posts = uris.length ? await getPosts(uris, signal).catch(() => new Map()) : new Map();
  return { items: groups.map((g) => ({ ...g, post: posts.get(WITH_POST.has(g.reason) ? g.items[0].uri : g.subject) })), cursor: r.cursor };
}

function who(group) {
  const first = displayName(group.authors[0]);
  const others = group.authors.length - 1;
  return others > 0 ? t('notifications.andOthers', { name: first, count: others }) : first;
}

function GroupRow({ group }) {
  const verb = t(`notifications.reason.${group.reason}`);
  const subjectHref = group.post ? postPath(group.post.uri, group.post.author.handle) : null;
  const target = group.reason === 'follow' ? profilePath(group.authors[0]) : subjectHref;
  return html`<article class=${group.isRead ? 'notification' : 'notification unread'} aria-label=${`${who(group)} ${verb}`}>
    <span class=${`notification-icon ${group.reason.split('-')[0]}`}><${Icon} name=${ICONS[group.reason] || 'bell'} filled=${group.reason.startsWith('like')} /></span>
    <div class="notification-main">
      <div class="notification-avatars">
        ${group.authors.slice(0, 6).map((a) => html`<a href=${profilePath(a)} aria-label=${displayName(a)}><${Avatar} actor=${a} size=${32} /></a>`)}
      </div>
      <p class="notification-text">
        ${!group.isRead && html`<span class="visually-hidden">${t('notifications.unread')}: </span>`}
        ${target ? html`<a href=${target}><strong>${who(group)}</strong> ${verb}</a>` : html`<strong>${who(group)}</strong> ${verb}`}
        <span class="dot" aria-hidden="true">·</span><${RelativeTime} date=${group.indexedAt} />
      </p>
      ${group.post && html`<p class="notification-subject muted">${group.post.record?.text || t('notifications.imagePost')}</p>`}
    </div>
  </article>`;
}

function Item({ group }) {
  if (WITH_POST.has(group.reason)) {
    const n = group.items[0];
    if (!group.post) return html`<${GroupRow} group=${group} />`;
    return html`<div class=${n.isRead ? 'notification-post' : 'notification-post unread'}>
      ${!n.isRead && html`<span class="visually-hidden">${t('notifications.unread')}</span>`}
      <p class="notification-kind muted"><${Icon} name=${group.reason === 'quote' ? 'quote' : 'reply'} size=${14} /> ${t(`notifications.kind.${group.reason}`, { name: displayName(n.author) })}</p>
      <${PostCard} post=${group.post} />
    </div>`;
  }
  return html`<${GroupRow} group=${group} />`;
}

export default function Notifications() {
  useTitle(t('notifications.title'));
  useEffect(() => {
    const seenAt = new Date().toISOString();
    procedure('app.bsky.notification.updateSeen', { seenAt }).then(() => (unreadCount.value = 0), () => {});
  }, []);
  return html`<div>
    <${ViewHeader} title=${t('notifications.title')} />
    <${PagedList} cacheKey="notifications" load=${loadPage} label=${t('notifications.title')} itemKey=${(g) => g.key}
      renderItem=${(g) => html`<${Item} group=${g} />`}
      empty=${html`<${Empty} title=${t('notifications.empty')}><p class="muted">${t('notifications.emptyHint')}</p></${Empty}>`} />
  </div>`;
}
