// Post text with its facets as links: mentions to profiles, hashtags to searches, links to the
// web (opened in a new tab, without referrer). Profile bios carry no facets: they are detected here.

import { html } from '../lib/html.js';
import { segments, detectFacets, shortenLink, MENTION, LINK, TAG } from '../lib/facets.js';

export function RichText({ text, facets, detect = false, className = 'rich-text' }) {
  if (!text) return null;
  const parts = segments(text, detect ? detectFacets(text) : facets);
  return html`<div class=${className}>${parts.map((part) => {
    const f = part.feature;
    if (!f) return part.text;
    if (f.$type === MENTION) {
      const target = f.did || part.text.replace(/^@/, '');
      return html`<a href=${`/profile/${encodeURIComponent(target)}`}>${part.text}</a>`;
    }
    if (f.$type === TAG) return html`<a href=${`/hashtag/${encodeURIComponent(f.tag)}`}>${part.text}</a>`;
    if (f.$type === LINK && /^https?:\/\//i.test(f.uri)) {
      // Text that looks like a URL but points elsewhere shows where it really goes.
      const shown = /^(https?:\/\/|www\.)/i.test(part.text) && !part.text.includes('…') ? shortenLink(f.uri) : part.text;
      return html`<a href=${f.uri} target="_blank" rel="noopener noreferrer nofollow ugc">${shown}</a>`;
    }
    return part.text;
  })}</div>`;
}
