// Posts that quote a post (app.bsky.feed.getQuotes).

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { ViewHeader, Loading, ErrorNotice, Empty, useTitle } from '../components/ui.js';
import { PagedList } from '../components/feed.js';
import { PostCard } from '../components/post.js';

export default function Quotes({ params }) {
  const [uri, setUri] = useState(null);
  const [error, setError] = useState(null);
  useTitle(t('quotes.title'));
  useEffect(() => {
    const resolve = params.actor.startsWith('did:') ? Promise.resolve({ did: params.actor }) : query('com.atproto.identity.resolveHandle', { handle: params.actor });
    resolve.then((r) => setUri(`at://${r.did}/app.bsky.feed.post/${params.rkey}`), setError);
  }, [params.actor, params.rkey]);
  let body;
  if (error) body = html`<${ErrorNotice} error=${error} />`;
  else if (!uri) body = html`<${Loading} />`;
  else {
    body = html`<${PagedList} cacheKey=${`quotes:${uri}`} label=${t('quotes.title')}
      load=${(cursor, signal) => query('app.bsky.feed.getQuotes', { uri, limit: 30, cursor }, { signal }).then((r) => ({ items: r.posts || [], cursor: r.cursor }))}
      itemKey=${(p) => p.uri} renderItem=${(p) => html`<${PostCard} post=${p} />`} empty=${html`<${Empty} title=${t('quotes.empty')} />`} />`;
  }
  return html`<div><${ViewHeader} title=${t('quotes.title')} back />${body}</div>`;
}
