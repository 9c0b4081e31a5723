// A profile: banner, avatar, name, handle, bio, counts, follow (or edit, for one's own), a menu
// with mute, block, report and copy link; tabs for posts, replies, media and (one's own) likes.

import { html, useState, useEffect } from '../lib/html.js';
import { t, locale } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { session } from '../lib/auth.js';
import { actorShadow, actorWithShadow, openDialog, toast, me } from '../lib/state.js';
import { setFollowing, setMuted, setBlocking } from '../lib/api.js';
import { profilePath } from '../lib/router.js';
import { compactNumber } from '../lib/time.js';
import { ViewHeader, Tabs, Loading, ErrorNotice, Empty, Avatar, displayName, localImage, useTitle, errorText, hiddenFromSignedOut, SignedOutOnly } from '../components/ui.js';
import { PagedList } from '../components/feed.js';
import { PostCard } from '../components/post.js';
import { RichText } from '../components/richtext.js';
import { Menu } from '../components/menu.js';
import { Icon } from '../components/icons.js';
import { ConfirmDialog } from '../components/dialog.js';
import { openReport, openProfileEditor } from '../components/dialogs.js';

const FILTERS = {
  posts: 'posts_and_author_threads',
  replies: 'posts_with_replies',
  media: 'posts_with_media',
};

const run = (p) => p.catch((e) => toast(errorText(e), { kind: 'error' }));

function FollowButton({ actor }) {
  const following = !!actor.viewer?.following;
  if (!session.value) return html`<a class="button" href=${`/signin?next=${encodeURIComponent(location.pathname)}`}>${t('profile.follow')}</a>`;
  return html`<button type="button" class=${following ? 'button secondary' : 'button'} aria-pressed=${following ? 'true' : 'false'}
    onClick=${() => run(setFollowing(actor, !following))}>
    ${following ? t('profile.following') : actor.viewer?.followedBy ? t('profile.followBack') : t('profile.follow')}
  </button>`;
}

function ProfileMenu({ actor }) {
  const muted = !!actor.viewer?.muted;
  const blocking = !!actor.viewer?.blocking;
  const copy = () => {
    const url = `${location.origin}${profilePath(actor)}`;
    navigator.clipboard.writeText(url).then(() => toast(t('post.linkCopied')), () => toast(url));
  };
  const block = async () => {
    if (blocking) return run(setBlocking(actor, false).then(() => toast(t('moderation.unblocked', { handle: actor.handle }))));
    const yes = await openDialog(ConfirmDialog, { title: t('moderation.blockTitle', { name: displayName(actor) }), message: t('moderation.blockExplain'), confirmLabel: t('moderation.block'), danger: true });
    if (yes) await run(setBlocking(actor, true).then(() => toast(t('moderation.blocked', { handle: actor.handle }))));
  };
  return html`<${Menu} label=${t('profile.more')} className="icon-button bordered" items=${[
    { label: t('profile.copyLink'), icon: html`<${Icon} name="link" />`, onSelect: copy },
    session.value && { label: muted ? t('moderation.unmuteAccount') : t('moderation.muteAccount'), icon: html`<${Icon} name="mute" />`, onSelect: () => run(setMuted(actor, !muted).then(() => toast(muted ? t('moderation.unmuted', { handle: actor.handle }) : t('moderation.muted', { handle: actor.handle })))) },
    session.value && { label: blocking ? t('moderation.unblockAccount') : t('moderation.blockAccount'), icon: html`<${Icon} name="block" />`, onSelect: block, danger: !blocking },
    session.value && { label: t('report.account'), icon: html`<${Icon} name="flag" />`, onSelect: () => openReport({ subject: { did: actor.did }, kind: 'account' }) },
  ]}><${Icon} name="more" /></${Menu}>`;
}

function Header({ actor, onEdited }) {
  const mine = session.value && session.value.did === actor.did;
  const banner = localImage(actor.banner);
  const path = profilePath(actor);
  const edit = async () => {
    const saved = await openProfileEditor({ profile: actor });
    if (saved) onEdited(saved);
  };
  return html`<section class="profile-header" aria-label=${t('profile.about', { name: displayName(actor) })}>
    <div class="banner">${banner && html`<img src=${banner} alt="" />`}</div>
    <div class="profile-top">
      <${Avatar} actor=${actor} size=${88} alt=${t('profile.avatarOf', { name: displayName(actor) })} />
      <div class="profile-buttons">
        ${!mine && html`<${ProfileMenu} actor=${actor} />`}
        ${mine ? html`<button type="button" class="button secondary" onClick=${edit}>${t('profile.edit')}</button>` : !actor.viewer?.blocking && html`<${FollowButton} actor=${actor} />`}
      </div>
    </div>
    <h2 class="profile-name">${displayName(actor)}</h2>
    <p class="profile-handle">
      ${actor.viewer?.followedBy && html`<span class="pill">${t('profile.followsYou')}</span>`}
      <span class="handle">@${actor.handle}</span>
    </p>
    <p class="profile-counts">
      <a href=${`${path}/followers`}><strong>${compactNumber(actor.followersCount || 0, locale)}</strong> ${t('profile.followers', { count: actor.followersCount || 0 })}</a>
      <a href=${`${path}/follows`}><strong>${compactNumber(actor.followsCount || 0, locale)}</strong> ${t('profile.followingCount', { count: actor.followsCount || 0 })}</a>
      <span><strong>${compactNumber(actor.postsCount || 0, locale)}</strong> ${t('profile.posts', { count: actor.postsCount || 0 })}</span>
    </p>
    ${actor.description && html`<${RichText} text=${actor.description} detect className="rich-text profile-bio" />`}
    ${actor.viewer?.muted && html`<p class="notice">${t('moderation.youMuted')}</p>`}
  </section>`;
}

export default function Profile({ params, query: search }) {
  const [state, setState] = useState({ loading: true });
  const tab = search.get('tab') || 'posts';
  const load = async () => {
    setState({ loading: true });
    try {
      setState({ profile: await query('app.bsky.actor.getProfile', { actor: params.actor }) });
    } catch (error) {
      setState({ error });
    }
  };
  useEffect(() => {
    load();
  }, [params.actor]);
  const raw = state.profile;
  const actor = raw ? actorWithShadow(raw, actorShadow(raw.did).value) : null;
  useTitle(actor ? t('profile.titleOf', { name: displayName(actor) }) : t('profile.title'));
  if (state.loading) return html`<div><${ViewHeader} title=${t('profile.title')} back /><${Loading} /></div>`;
  if (state.error) return html`<div><${ViewHeader} title=${t('profile.title')} back /><${ErrorNotice} error=${state.error} onRetry=${load} /></div>`;
  if (hiddenFromSignedOut(actor)) return html`<div><${ViewHeader} title=${t('profile.title')} back /><${SignedOutOnly} /></div>`;
  const mine = session.value && session.value.did === actor.did;
  const base = profilePath(actor);
  const tabs = [
    { id: 'posts', label: t('profile.tabPosts'), href: base },
    { id: 'replies', label: t('profile.tabReplies'), href: `${base}?tab=replies` },
    { id: 'media', label: t('profile.tabMedia'), href: `${base}?tab=media` },
    mine && { id: 'likes', label: t('profile.tabLikes'), href: `${base}?tab=likes` },
  ].filter(Boolean);
  const onEdited = (saved) => {
    setState({ profile: { ...raw, ...saved } });
    if (mine) me.value = { ...me.value, ...saved };
  };
  let feed;
  if (actor.viewer?.blocking) {
    feed = html`<${Empty} title=${t('moderation.youBlocked')}>
      <button type="button" class="button secondary" onClick=${() => run(setBlocking(actor, false))}>${t('moderation.unblockAccount')}</button>
    </${Empty}>`;
  } else if (actor.viewer?.blockedBy) {
    feed = html`<${Empty} title=${t('moderation.blockedYou')} />`;
  } else {
    const load =
      tab === 'likes'
        ? (cursor, signal) => query('app.bsky.feed.getActorLikes', { actor: actor.did, limit: 30, cursor }, { signal }).then((r) => ({ items: r.feed || [], cursor: r.cursor }))
        : (cursor, signal) => query('app.bsky.feed.getAuthorFeed', { actor: actor.did, filter: FILTERS[tab] || FILTERS.posts, limit: 30, cursor }, { signal }).then((r) => ({ items: r.feed || [], cursor: r.cursor }));
    feed = html`<${PagedList} key=${tab} cacheKey=${`profile:${actor.did}:${tab}`} load=${load} label=${tabs.find((x) => x.id === tab)?.label}
      itemKey=${(item) => `${item.post.uri}|${item.reason ? 'r' : ''}`}
      renderItem=${(item) => html`<${PostCard} post=${item.post} reason=${item.reason} parentAuthor=${item.reply && item.reply.parent && item.reply.parent.author} />`}
      empty=${html`<${Empty} title=${t(`profile.empty.${tab}`)} />`} />`;
  }
  return html`<div>
    <${ViewHeader} title=${displayName(actor)} back />
    <${Header} actor=${actor} onEdited=${onEdited} />
    ${!actor.viewer?.blocking && !actor.viewer?.blockedBy && html`<${Tabs} label=${t('profile.tabs')} active=${tab} tabs=${tabs} />`}
    <div role="tabpanel" aria-label=${tabs.find((x) => x.id === tab)?.label}>${feed}</div>
  </div>`;
}
