// Muted words (`app.bsky.actor.defs#mutedWordsPref` in the account's preferences): whether a post
// matches one. Like the official app: a word matches whole words of the text (any case), a phrase
// matches anywhere, a tag-only word matches only hashtags; expired entries are ignored. Pure.

function words(text) {
  return (text.toLowerCase().match(/[\p{L}\p{N}_'’-]+/gu) || []).map((w) => w.replace(/^['’-]+|['’-]+$/g, ''));
}

/** The tags of a post record: facet tags and the record's own `tags`, lower case, without `#`. */
export function postTags(record) {
  const tags = new Set((record.tags || []).map((t) => t.toLowerCase()));
  for (const f of record.facets || []) {
    for (const feature of f.features || []) {
      if (feature.$type === 'app.bsky.richtext.facet#tag' && feature.tag) tags.add(feature.tag.toLowerCase());
    }
  }
  return tags;
}

/**
 * The first muted word that `record` (an app.bsky.feed.post) matches, or null. `isFollowed`
 * says whether the author is followed (entries with `actorTarget: 'exclude-following'` spare
 * them). `now` is in milliseconds.
 */
export function mutedWordMatch(record, mutedWords, { now = Date.now(), isFollowed = false } = {}) {
  if (!record || !mutedWords || mutedWords.length === 0) return null;
  const text = record.text || '';
  const lower = text.toLowerCase();
  const tokens = new Set(words(text));
  const tags = postTags(record);
  for (const entry of mutedWords) {
    const value = (entry.value || '').trim().replace(/^#/, '').toLowerCase();
    if (!value) continue;
    if (entry.expiresAt && new Date(entry.expiresAt).getTime() <= now) continue;
    if (entry.actorTarget === 'exclude-following' && isFollowed) continue;
    if (tags.has(value)) return entry;
    const contentToo = (entry.targets || ['content', 'tag']).includes('content');
    if (!contentToo) continue;
    const isPhrase = /\s/.test(value) || words(value).length !== 1;
    if (isPhrase ? lower.includes(value) : tokens.has(value)) return entry;
  }
  return null;
}
