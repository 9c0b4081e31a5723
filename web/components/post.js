// A post as it appears in feeds, threads and notifications: author, time, text, embeds, and the
// actions (reply, repost or quote, like, and a menu with copy link, delete, mute, block, report).
// Likes and reposts show at once (optimistic shadows) and roll back if the server refuses.

import { html, useState } from '../lib/html.js';
import { t, locale } from '../lib/i18n.js';
import { session } from '../lib/auth.js';
import { postShadow, withShadow, actorShadow, actorWithShadow, openDialog, toast, mutedWords } from '../lib/state.js';
import { setLiked, setReposted, setBookmarked, deletePost, setMuted, setBlocking } from '../lib/api.js';
import { navigate, postPath, profilePath } from '../lib/router.js';
import { mutedWordMatch } from '../lib/muted-words.js';
import { compactNumber, fullTime } from '../lib/time.js';
import { Avatar, NameLink, RelativeTime, displayName, errorText } from './ui.js';
import { RichText } from './richtext.js';
import { Embed } from './embeds.js';
import { Icon } from './icons.js';
import { Menu } from './menu.js';
import { ConfirmDialog } from './dialog.js';
import { openComposer, openReport } from './dialogs.js';

/** Labels that hide media behind a warning until the reader asks to see it. */
const WARN_LABELS = new Set(['porn', 'sexual', 'nudity', 'graphic-media', 'gore', '!warn']);

function requireSignIn() {
  if (session.value) return true;
  navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
  return false;
}

const run = (promise) => promise.catch((e) => toast(errorText(e), { kind: 'error' }));

async function confirmBlock(author) {
  const yes = await openDialog(ConfirmDialog, {
    title: t('moderation.blockTitle', { name: displayName(author) }),
    message: t('moderation.blockExplain'),
    confirmLabel: t('moderation.block'),
    danger: true,
  });
  if (!yes) return;
  await run(setBlocking(author, true).then(() => toast(t('moderation.blocked', { handle: author.handle }))));
}

/** The actions under a post. */
export function PostActions({ post, big = false }) {
  const mine = session.value && post.author.did === session.value.did;
  const liked = !!post.viewer?.like;
  const reposted = !!post.viewer?.repost;
  const bookmarked = !!post.viewer?.bookmarked;
  const author = actorWithShadow(post.author, actorShadow(post.author.did).value);
  const count = (n) => (n > 0 ? compactNumber(n, locale) : '');
  const copyLink = () => {
    const url = `${location.origin}${postPath(post.uri, post.author.handle)}`;
    navigator.clipboard.writeText(url).then(() => toast(t('post.linkCopied')), () => toast(url));
  };
  const remove = async () => {
    const yes = await openDialog(ConfirmDialog, { title: t('post.deleteTitle'), message: t('post.deleteExplain'), confirmLabel: t('post.delete'), danger: true });
    if (yes) await run(deletePost(post).then(() => toast(t('post.deleted'))));
  };
  return html`<div class=${big ? 'post-actions big' : 'post-actions'} onClick=${(e) => e.stopPropagation()}>
    <button type="button" class="action reply" disabled=${post.viewer?.replyDisabled} onClick=${() => requireSignIn() && openComposer({ reply: post })}>
      <${Icon} name="reply" /><span class="visually-hidden">${t('post.reply')}</span>${count(post.replyCount)}
    </button>
    <${Menu} named label=${t('post.repostMenu')} className=${reposted ? 'action repost active' : 'action repost'}
      items=${[
        { label: reposted ? t('post.undoRepost') : t('post.repost'), icon: html`<${Icon} name="repost" />`, onSelect: () => requireSignIn() && run(setReposted(post, !reposted)) },
        { label: t('post.quote'), icon: html`<${Icon} name="quote" />`, onSelect: () => requireSignIn() && openComposer({ quote: post }) },
      ]}>
      <${Icon} name="repost" /><span class="visually-hidden">${t('post.repostMenu')}</span>${count(post.repostCount)}
    </${Menu}>
    <button type="button" class=${liked ? 'action like active' : 'action like'} aria-pressed=${liked ? 'true' : 'false'}
      onClick=${() => requireSignIn() && run(setLiked(post, !liked))}>
      <${Icon} name="heart" filled=${liked} /><span class="visually-hidden">${t('post.like')}</span>${count(post.likeCount)}
    </button>
    <button type="button" class=${bookmarked ? 'action bookmark active' : 'action bookmark'} aria-pressed=${bookmarked ? 'true' : 'false'}
      onClick=${() => requireSignIn() && run(setBookmarked(post, !bookmarked).then(() => toast(bookmarked ? t('post.unsaved') : t('post.saved'), { link: bookmarked ? undefined : { href: '/saved', label: t('post.savedLink') } })))}>
      <${Icon} name="bookmark" filled=${bookmarked} /><span class="visually-hidden">${t('post.save')}</span>
    </button>
    <${Menu} label=${t('post.more')} className="action more" items=${[
      { label: t('post.copyLink'), icon: html`<${Icon} name="link" />`, onSelect: copyLink },
      mine && { label: t('post.delete'), icon: html`<${Icon} name="trash" />`, onSelect: remove, danger: true },
      !mine && session.value && {
        label: author.viewer?.muted ? t('moderation.unmuteHandle', { handle: author.handle }) : t('moderation.muteHandle', { handle: author.handle }),
        icon: html`<${Icon} name="mute" />`,
        onSelect: () => run(setMuted(author, !author.viewer?.muted).then(() => toast(author.viewer?.muted ? t('moderation.unmuted', { handle: author.handle }) : t('moderation.muted', { handle: author.handle })))),
      },
      !mine && session.value && !author.viewer?.blocking && { label: t('moderation.blockHandle', { handle: author.handle }), icon: html`<${Icon} name="block" />`, onSelect: () => confirmBlock(author), danger: true },
      !mine && session.value && { label: t('report.post'), icon: html`<${Icon} name="flag" />`, onSelect: () => openReport({ subject: { uri: post.uri, cid: post.cid }, kind: 'post' }) },
    ]}>
      <${Icon} name="more" />
    </${Menu}>
  </div>`;
}

/** Why a post is collapsed, if it is: a muted author or a muted word. */
function hiddenReason(post) {
  if (!session.value || post.author.did === session.value.did) return null;
  const author = actorShadow(post.author.did).value;
  const muted = 'muted' in author ? author.muted : post.author.viewer?.muted;
  if (muted) return t('moderation.hiddenMutedAccount');
  const word = mutedWordMatch(post.record, mutedWords.value, { isFollowed: !!post.author.viewer?.following });
  if (word) return t('moderation.hiddenMutedWord');
  return null;
}

function ContentWarning({ labels, children }) {
  const [shown, setShown] = useState(false);
  const label = labels.find((l) => WARN_LABELS.has(l.val));
  if (!label || shown) return children;
  return html`<div class="content-warning">
    <span>${t('moderation.contentWarning', { label: label.val.replace(/^!/, '') })}</span>
    <button type="button" class="button secondary small" onClick=${(e) => {
      e.stopPropagation();
      setShown(true);
    }}>${t('common.show')}</button>
  </div>`;
}

/**
 * One post. `variant`: 'feed' (default), 'anchor' (the focused post of a thread, larger, with
 * the full date and counts), 'parent' (above the anchor, with a line to it). `reason` is a feed
 * item's repost reason; `parent` the post it replies to, when the feed knows it.
 */
export function PostCard({ post: raw, reason, parentAuthor, variant = 'feed', threadLine = false }) {
  const shadow = postShadow(raw.uri).value;
  const [reveal, setReveal] = useState(false);
  if (shadow.deleted) return html`<div class="post post-gone muted">${t('post.deletedNotice')}</div>`;
  const post = withShadow(raw, shadow);
  const href = postPath(post.uri, post.author.handle);
  const record = post.record || {};
  const hidden = !reveal && variant !== 'anchor' && hiddenReason(post);
  if (hidden) {
    return html`<div class="post post-hidden" role="article" aria-label=${t('post.by', { name: displayName(post.author) })}>
      <span class="muted">${hidden}</span>
      <button type="button" class="button secondary small" onClick=${() => setReveal(true)}>${t('common.show')}</button>
    </div>`;
  }
  // A click anywhere on the card (not on a link or control) opens the thread, as in the app.
  const onClick = (e) => {
    if (variant === 'anchor' || e.target.closest('a,button,input,textarea,dialog,.menu')) return;
    if (window.getSelection && String(window.getSelection())) return;
    navigate(href);
  };
  const labels = post.labels || [];
  const name = displayName(post.author);
  if (variant === 'anchor') {
    return html`<article class="post anchor" aria-label=${t('post.by', { name })}>
      <div class="post-head">
        <a href=${profilePath(post.author)} tabindex="-1" aria-hidden="true"><${Avatar} actor=${post.author} size=${48} /></a>
        <${NameLink} actor=${post.author} className="stacked" />
      </div>
      <${RichText} text=${record.text} facets=${record.facets} className="rich-text big" />
      <${ContentWarning} labels=${labels}><${Embed} embed=${post.embed} /></${ContentWarning}>
      <p class="post-date muted"><time datetime=${record.createdAt || post.indexedAt}>${fullTime(record.createdAt || post.indexedAt, locale)}</time></p>
      <div class="post-stats">
        <a href=${`${href}/reposted-by`}><strong>${compactNumber(post.repostCount || 0, locale)}</strong> ${t('post.reposts', { count: post.repostCount || 0 })}</a>
        <a href=${`${href}/quotes`}><strong>${compactNumber(post.quoteCount || 0, locale)}</strong> ${t('post.quotes', { count: post.quoteCount || 0 })}</a>
        <a href=${`${href}/liked-by`}><strong>${compactNumber(post.likeCount || 0, locale)}</strong> ${t('post.likes', { count: post.likeCount || 0 })}</a>
      </div>
      <${PostActions} post=${post} big />
    </article>`;
  }
  return html`<article class=${`post ${variant} ${threadLine ? 'has-line' : ''}`} aria-label=${t('post.by', { name })} onClick=${onClick}>
    ${reason && reason.$type === 'app.bsky.feed.defs#reasonRepost' && html`<p class="post-reason muted"><${Icon} name="repost" size=${14} /> ${t('post.repostedBy', { name: displayName(reason.by) })}</p>`}
    <div class="post-grid">
      <a class="post-avatar" href=${profilePath(post.author)} tabindex="-1" aria-hidden="true"><${Avatar} actor=${post.author} /></a>
      <div class="post-main">
        <div class="post-head">
          <${NameLink} actor=${post.author} />
          <span class="dot" aria-hidden="true">·</span>
          <${RelativeTime} date=${record.createdAt || post.indexedAt} href=${href} />
        </div>
        ${parentAuthor && html`<p class="post-reply-to muted"><${Icon} name="reply" size=${13} /> ${t('post.replyingTo', { name: displayName(parentAuthor) })}</p>`}
        <${RichText} text=${record.text} facets=${record.facets} />
        <${ContentWarning} labels=${labels}><${Embed} embed=${post.embed} /></${ContentWarning}>
        <${PostActions} post=${post} />
      </div>
    </div>
  </article>`;
}
