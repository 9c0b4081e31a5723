// The member's actions as XRPC calls: records created in their repository
// (com.atproto.repo.createRecord / deleteRecord / putRecord), App View calls for mutes, blobs,
// preferences, reports. Each optimistic action updates the shadow first and rolls it back on
// failure; rapid taps on one toggle are coalesced so the last intent wins.

import { procedure, query } from './xrpc.js';
import { session } from './auth.js';
import { patchPost, patchActor, postShadow, actorShadow } from './state.js';
import { detectFacets, resolveMentions } from './facets.js';
import { resizeImage } from './image.js';

const me = () => session.value.did;
const now = () => new Date().toISOString();

/** `at://did/collection/rkey` → `{ repo, collection, rkey }`. */
export function parseUri(uri) {
  const [, , repo, collection, rkey] = uri.split('/');
  return { repo, collection, rkey };
}

export function createRecord(collection, record) {
  return procedure('com.atproto.repo.createRecord', { repo: me(), collection, record: { $type: collection, ...record } });
}

export function deleteRecord(uri) {
  const { collection, rkey } = parseUri(uri);
  return procedure('com.atproto.repo.deleteRecord', { repo: me(), collection, rkey });
}

export function resolveHandle(handle) {
  return query('com.atproto.identity.resolveHandle', { handle }).then((r) => r.did);
}

// ---- coalesced toggles
const inFlight = new Map();

/**
 * Runs `apply(desired)` for the toggle `key`; while one call is running, later taps only record
 * the intent, and one more call runs afterwards if the intent differs from the outcome.
 */
async function toggle(key, desired, current, apply) {
  const entry = inFlight.get(key);
  if (entry) {
    entry.desired = desired;
    return;
  }
  const state = { desired, actual: current };
  inFlight.set(key, state);
  try {
    while (state.desired !== state.actual) {
      const target = state.desired;
      await apply(target);
      state.actual = target;
    }
  } finally {
    inFlight.delete(key);
  }
}

/** Likes or unlikes `post` (a post view with the shadow applied). */
export function setLiked(post, liked) {
  const base = post.likeCount || 0;
  const wasLiked = !!post.viewer?.like;
  patchPost(post.uri, { likeUri: liked ? post.viewer?.like || 'pending' : null, likeCount: Math.max(0, base + (liked === wasLiked ? 0 : liked ? 1 : -1)) });
  return toggle(`like:${post.uri}`, liked, wasLiked, async (target) => {
    try {
      if (target) {
        const r = await createRecord('app.bsky.feed.like', { subject: { uri: post.uri, cid: post.cid }, createdAt: now() });
        patchPost(post.uri, { likeUri: r.uri });
      } else {
        const uri = postShadow(post.uri).value.likeUri ?? post.viewer?.like;
        if (uri && uri !== 'pending') await deleteRecord(uri);
        patchPost(post.uri, { likeUri: null });
      }
    } catch (e) {
      patchPost(post.uri, { likeUri: wasLiked ? post.viewer?.like : null, likeCount: base });
      throw e;
    }
  });
}

/** Reposts or undoes the repost of `post`. */
export function setReposted(post, reposted) {
  const base = post.repostCount || 0;
  const was = !!post.viewer?.repost;
  patchPost(post.uri, { repostUri: reposted ? post.viewer?.repost || 'pending' : null, repostCount: Math.max(0, base + (reposted === was ? 0 : reposted ? 1 : -1)) });
  return toggle(`repost:${post.uri}`, reposted, was, async (target) => {
    try {
      if (target) {
        const r = await createRecord('app.bsky.feed.repost', { subject: { uri: post.uri, cid: post.cid }, createdAt: now() });
        patchPost(post.uri, { repostUri: r.uri });
      } else {
        const uri = postShadow(post.uri).value.repostUri ?? post.viewer?.repost;
        if (uri && uri !== 'pending') await deleteRecord(uri);
        patchPost(post.uri, { repostUri: null });
      }
    } catch (e) {
      patchPost(post.uri, { repostUri: was ? post.viewer?.repost : null, repostCount: base });
      throw e;
    }
  });
}

/** Saves `post` to the member's bookmarks (app.bsky.bookmark.*), or removes it. */
export function setBookmarked(post, bookmarked) {
  const was = !!post.viewer?.bookmarked;
  patchPost(post.uri, { bookmarked });
  return toggle(`bookmark:${post.uri}`, bookmarked, was, async (target) => {
    try {
      if (target) await procedure('app.bsky.bookmark.createBookmark', { uri: post.uri, cid: post.cid });
      else await procedure('app.bsky.bookmark.deleteBookmark', { uri: post.uri });
    } catch (e) {
      patchPost(post.uri, { bookmarked: was });
      throw e;
    }
  });
}

/** Follows or unfollows `actor` (a profile view with the shadow applied). */
export function setFollowing(actor, following) {
  const was = !!actor.viewer?.following;
  const base = actor.followersCount;
  const patch = { followingUri: following ? actor.viewer?.following || 'pending' : null };
  if (typeof base === 'number') patch.followersCount = Math.max(0, base + (following === was ? 0 : following ? 1 : -1));
  patchActor(actor.did, patch);
  return toggle(`follow:${actor.did}`, following, was, async (target) => {
    try {
      if (target) {
        const r = await createRecord('app.bsky.graph.follow', { subject: actor.did, createdAt: now() });
        patchActor(actor.did, { followingUri: r.uri });
      } else {
        const uri = actorShadow(actor.did).value.followingUri ?? actor.viewer?.following;
        if (uri && uri !== 'pending') await deleteRecord(uri);
        patchActor(actor.did, { followingUri: null });
      }
    } catch (e) {
      patchActor(actor.did, { followingUri: was ? actor.viewer?.following : null, followersCount: base });
      throw e;
    }
  });
}

export async function setMuted(actor, muted) {
  patchActor(actor.did, { muted });
  try {
    await procedure(muted ? 'app.bsky.graph.muteActor' : 'app.bsky.graph.unmuteActor', { actor: actor.did });
  } catch (e) {
    patchActor(actor.did, { muted: !muted });
    throw e;
  }
}

export async function setBlocking(actor, blocking) {
  const previous = actor.viewer?.blocking;
  if (blocking) {
    const r = await createRecord('app.bsky.graph.block', { subject: actor.did, createdAt: now() });
    patchActor(actor.did, { blockingUri: r.uri, followingUri: null });
  } else {
    const uri = actorShadow(actor.did).value.blockingUri ?? previous;
    if (uri) await deleteRecord(uri);
    patchActor(actor.did, { blockingUri: null });
  }
}

/** Uploads an image blob; returns the blob reference for a record. */
export async function uploadBlob(blob) {
  const { blob: ref } = await procedure('com.atproto.repo.uploadBlob', blob, { encoding: blob.type });
  return ref;
}

/**
 * Publishes a post: facets detected and mentions resolved, images (already resized, with alt
 * text and aspect ratio) uploaded, reply and quote references attached.
 * `reply` is the parent post view; `quote` the quoted post view.
 */
export async function publishPost({ text, langs, images = [], reply, quote }) {
  const facets = await resolveMentions(detectFacets(text), (h) => resolveHandle(h));
  const record = { text, createdAt: now() };
  if (facets.length) record.facets = facets;
  if (langs && langs.length) record.langs = langs;
  if (reply) {
    const parent = { uri: reply.uri, cid: reply.cid };
    const root = reply.record?.reply?.root || parent;
    record.reply = { root: { uri: root.uri, cid: root.cid }, parent };
  }
  let media = null;
  if (images.length) {
    const uploaded = [];
    for (const image of images) {
      const ref = await uploadBlob(image.blob);
      uploaded.push({ image: ref, alt: image.alt, aspectRatio: { width: image.width, height: image.height } });
    }
    media = { $type: 'app.bsky.embed.images', images: uploaded };
  }
  if (quote) {
    const ref = { uri: quote.uri, cid: quote.cid };
    record.embed = media ? { $type: 'app.bsky.embed.recordWithMedia', record: { $type: 'app.bsky.embed.record', record: ref }, media } : { $type: 'app.bsky.embed.record', record: ref };
  } else if (media) {
    record.embed = media;
  }
  const result = await createRecord('app.bsky.feed.post', record);
  if (reply) patchPost(reply.uri, { replyCount: (reply.replyCount || 0) + 1 });
  return result;
}

export async function deletePost(post) {
  await deleteRecord(post.uri);
  patchPost(post.uri, { deleted: true });
}

/** Resizes a chosen file for a post: `{ blob, width, height, url }` (url for the preview). */
export async function prepareImage(file, options) {
  const out = await resizeImage(file, options);
  return { ...out, url: URL.createObjectURL(out.blob) };
}

/** Reports a post (`{ uri, cid }`) or an account (`{ did }`) to the server's moderators. */
export function report(subject, reasonType, reason) {
  const ref = subject.uri ? { $type: 'com.atproto.repo.strongRef', uri: subject.uri, cid: subject.cid } : { $type: 'com.atproto.admin.defs#repoRef', did: subject.did };
  return procedure('com.atproto.moderation.createReport', { reasonType, reason: reason || undefined, subject: ref });
}
