// Notifications grouped as the official app groups them: likes, reposts and follows of the same
// subject within 48 hours become one row ("Ana and 2 others liked your post"); replies, mentions
// and quotes stay one row each. Pure: tested in Node.

export const GROUP_WINDOW_MS = 48 * 60 * 60 * 1000;
const GROUPED = new Set(['like', 'repost', 'follow', 'like-via-repost', 'repost-via-repost']);

/**
 * Groups a newest-first list of `app.bsky.notification.listNotifications` items. Each group is
 * `{ key, reason, subject, items, authors, isRead, indexedAt }`, newest first.
 */
export function groupNotifications(notifications, windowMs = GROUP_WINDOW_MS) {
  const groups = [];
  const open = new Map();
  for (const n of notifications) {
    const time = new Date(n.indexedAt).getTime();
    const subject = n.reason === 'follow' ? '' : n.reasonSubject || '';
    const groupKey = `${n.reason}|${subject}`;
    if (GROUPED.has(n.reason)) {
      const group = open.get(groupKey);
      if (group && group.newest - time <= windowMs) {
        group.items.push(n);
        if (!group.authors.some((a) => a.did === n.author.did)) group.authors.push(n.author);
        group.isRead = group.isRead && n.isRead;
        continue;
      }
    }
    const group = {
      key: n.uri,
      reason: n.reason,
      subject: n.reasonSubject || null,
      items: [n],
      authors: [n.author],
      isRead: !!n.isRead,
      indexedAt: n.indexedAt,
      newest: time,
    };
    groups.push(group);
    if (GROUPED.has(n.reason)) open.set(groupKey, group);
  }
  return groups.map(({ newest, ...g }) => g);
}
