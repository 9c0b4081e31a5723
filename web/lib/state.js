// State shared across views, as signals: toasts, the dialog stack, the unread badge, network
// status, the signed-in member's own profile and preferences, and "shadows": the optimistic
// overlay of likes, reposts, follows, mutes and blocks that views show before the server answers
// (the official app's pattern, so a tap shows at once and a failure is rolled back).

import { signal, computed } from '@preact/signals';
import { session } from './auth.js';
import { query, procedure } from './xrpc.js';

// ---- toasts
export const toasts = signal([]);
let toastId = 0;

/** Shows a short message at the bottom; `kind` is 'info' or 'error'; `link` `{ href, label }`. */
export function toast(message, { kind = 'info', link, timeout = 5000 } = {}) {
  const id = ++toastId;
  // The same message again replaces the earlier one rather than stacking up.
  toasts.value = [...toasts.value.filter((t) => t.message !== message), { id, message, kind, link }];
  setTimeout(() => dismissToast(id), timeout);
}

export function dismissToast(id) {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}

// ---- dialogs
export const dialogs = signal([]);
let dialogId = 0;

/** Opens `component` as a modal dialog; resolves with what it passes to `close`. */
export function openDialog(component, props = {}) {
  return new Promise((resolve) => {
    const id = ++dialogId;
    const close = (result) => {
      dialogs.value = dialogs.value.filter((d) => d.id !== id);
      resolve(result);
    };
    dialogs.value = [...dialogs.value, { id, component, props, close }];
  });
}

/**
 * A dialog whose module loads on first use (the composer, the report form, the lightbox, the
 * profile editor are not part of the first load). `load` resolves the component.
 */
export function lazyDialog(load) {
  return (props) => load().then((component) => openDialog(component, props));
}

// ---- network
export const online = signal(navigator.onLine);
window.addEventListener('online', () => (online.value = true));
window.addEventListener('offline', () => (online.value = false));

// ---- unread notifications
export const unreadCount = signal(0);
const UNREAD_POLL_MS = 30_000;
let pollTimer = null;

export async function refreshUnread() {
  if (!session.value || document.hidden) return;
  try {
    const { count } = await query('app.bsky.notification.getUnreadCount');
    unreadCount.value = count || 0;
  } catch {
    // The badge is a hint: a failed poll keeps the last count.
  }
}

export function startUnreadPolling() {
  if (pollTimer) return;
  refreshUnread();
  pollTimer = setInterval(refreshUnread, UNREAD_POLL_MS);
  document.addEventListener('visibilitychange', refreshUnread);
  window.addEventListener('focus', refreshUnread);
}

export function stopUnreadPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
  unreadCount.value = 0;
}

// ---- the member's own profile and preferences
export const me = signal(null);
export const preferences = signal([]);

export async function loadMe() {
  const s = session.value;
  if (!s) {
    me.value = null;
    preferences.value = [];
    return;
  }
  const [profile, prefs] = await Promise.allSettled([
    query('app.bsky.actor.getProfile', { actor: s.did }),
    query('app.bsky.actor.getPreferences'),
  ]);
  if (profile.status === 'fulfilled') me.value = profile.value;
  else me.value = { did: s.did, handle: s.handle };
  if (prefs.status === 'fulfilled') preferences.value = prefs.value.preferences || [];
}

/**
 * Whether the signed-in member holds the admin role (blue.skyhold.admin.getRole). An OAuth
 * session never carries admin powers itself: the console asks for the password (auth.js).
 */
export const isAdmin = signal(false);

export async function loadRole() {
  if (!session.value) {
    isAdmin.value = false;
    return;
  }
  try {
    const role = await query('blue.skyhold.admin.getRole');
    isAdmin.value = !!(role.admin || role.roleWithoutPowers);
  } catch {
    isAdmin.value = false;
  }
}

export const mutedWords = computed(() => {
  const pref = preferences.value.find((p) => p.$type === 'app.bsky.actor.defs#mutedWordsPref');
  return (pref && pref.items) || [];
});

/** Replaces the muted words in the preferences (read, change, write back, as the app does). */
export async function saveMutedWords(items) {
  const { preferences: current } = await query('app.bsky.actor.getPreferences');
  const others = (current || []).filter((p) => p.$type !== 'app.bsky.actor.defs#mutedWordsPref');
  const next = [...others, { $type: 'app.bsky.actor.defs#mutedWordsPref', items }];
  await procedure('app.bsky.actor.putPreferences', { preferences: next });
  preferences.value = next;
}

// ---- shadows
const postShadows = new Map();
const actorShadows = new Map();

function shadowOf(map, key) {
  let s = map.get(key);
  if (!s) {
    s = signal({});
    map.set(key, s);
  }
  return s;
}

/** The overlay of one post: `{ likeUri, likeCount, repostUri, repostCount, bookmarked, deleted }`. */
export const postShadow = (uri) => shadowOf(postShadows, uri);
/** The overlay of one account: `{ followingUri, followersCount, muted, blockingUri }`. */
export const actorShadow = (did) => shadowOf(actorShadows, did);

export function patchPost(uri, patch) {
  const s = postShadow(uri);
  s.value = { ...s.value, ...patch };
}

export function patchActor(did, patch) {
  const s = actorShadow(did);
  s.value = { ...s.value, ...patch };
}

/** A post view with its overlay applied. */
export function withShadow(post, shadow) {
  const viewer = { ...(post.viewer || {}) };
  const out = { ...post, viewer };
  if ('likeUri' in shadow) viewer.like = shadow.likeUri || undefined;
  if ('repostUri' in shadow) viewer.repost = shadow.repostUri || undefined;
  if ('likeCount' in shadow) out.likeCount = shadow.likeCount;
  if ('repostCount' in shadow) out.repostCount = shadow.repostCount;
  if ('replyCount' in shadow) out.replyCount = shadow.replyCount;
  if ('bookmarked' in shadow) viewer.bookmarked = shadow.bookmarked;
  return out;
}

/** An account view with its overlay applied. */
export function actorWithShadow(actor, shadow) {
  const viewer = { ...(actor.viewer || {}) };
  const out = { ...actor, viewer };
  if ('followingUri' in shadow) viewer.following = shadow.followingUri || undefined;
  if ('muted' in shadow) viewer.muted = shadow.muted;
  if ('blockingUri' in shadow) viewer.blocking = shadow.blockingUri || undefined;
  if ('followersCount' in shadow) out.followersCount = shadow.followersCount;
  return out;
}

// ---- posts made here, so the visible feed can show them at once
export const published = signal(null);
