// Lists of accounts: followers and follows of a profile, likers and reposters of a post
// (app.bsky.graph.getFollowers / getFollows, app.bsky.feed.getLikes / getRepostedBy).

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { ViewHeader, Loading, ErrorNotice, Empty, useTitle } from '../components/ui.js';
import { PagedList } from '../components/feed.js';
import { ActorRow } from '../components/actor.js';

async function postUri(params) {
  let did = params.actor;
  if (!did.startsWith('did:')) did = (await query('com.atproto.identity.resolveHandle', { handle: did })).did;
  return `at://${did}/app.bsky.feed.post/${params.rkey}`;
}

const KINDS = {
  followers: { title: 'actors.followers', empty: 'actors.noFollowers', load: (p, cursor, signal) => query('app.bsky.graph.getFollowers', { actor: p.actor, limit: 50, cursor }, { signal }).then((r) => ({ items: r.followers || [], cursor: r.cursor })) },
  follows: { title: 'actors.follows', empty: 'actors.noFollows', load: (p, cursor, signal) => query('app.bsky.graph.getFollows', { actor: p.actor, limit: 50, cursor }, { signal }).then((r) => ({ items: r.follows || [], cursor: r.cursor })) },
  likedBy: { title: 'actors.likedBy', empty: 'actors.noLikes', post: true, load: (p, cursor, signal) => query('app.bsky.feed.getLikes', { uri: p.uri, limit: 50, cursor }, { signal }).then((r) => ({ items: (r.likes || []).map((l) => l.actor), cursor: r.cursor })) },
  repostedBy: { title: 'actors.repostedBy', empty: 'actors.noReposts', post: true, load: (p, cursor, signal) => query('app.bsky.feed.getRepostedBy', { uri: p.uri, limit: 50, cursor }, { signal }).then((r) => ({ items: r.repostedBy || [], cursor: r.cursor })) },
};

export default function Actors({ params, route }) {
  const kind = KINDS[route.name];
  const [resolved, setResolved] = useState(kind.post ? null : params);
  const [error, setError] = useState(null);
  useTitle(t(kind.title));
  useEffect(() => {
    if (!kind.post) return;
    postUri(params).then((uri) => setResolved({ ...params, uri }), setError);
  }, [params.actor, params.rkey]);
  let body;
  if (error) body = html`<${ErrorNotice} error=${error} />`;
  else if (!resolved) body = html`<${Loading} />`;
  else {
    body = html`<${PagedList} list cacheKey=${`${route.name}:${JSON.stringify(params)}`} label=${t(kind.title)}
      load=${(cursor, signal) => kind.load(resolved, cursor, signal)} itemKey=${(a) => a.did}
      renderItem=${(a) => html`<${ActorRow} actor=${a} />`} empty=${html`<${Empty} title=${t(kind.empty)} />`} />`;
  }
  return html`<div><${ViewHeader} title=${t(kind.title)} back />${body}</div>`;
}
