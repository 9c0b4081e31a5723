// A thread: the posts above the focused one, the focused post with its counts, a reply prompt,
// and the replies below (app.bsky.feed.getPostThread).

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { session } from '../lib/auth.js';
import { published, me } from '../lib/state.js';
import { ViewHeader, Loading, ErrorNotice, Empty, Avatar, displayName, useTitle, SignedOutOnly, hiddenFromSignedOut } from '../components/ui.js';
import { PostCard } from '../components/post.js';
import { openComposer } from '../components/dialogs.js';

const THREAD = 'app.bsky.feed.defs#threadViewPost';

function Missing({ node }) {
  const type = node && node.$type;
  const text = type === 'app.bsky.feed.defs#blockedPost' ? t('thread.blocked') : t('thread.notFound');
  return html`<div class="post post-gone muted">${text}</div>`;
}

function parents(node) {
  const out = [];
  let at = node && node.parent;
  while (at) {
    out.unshift(at);
    at = at.$type === THREAD ? at.parent : null;
  }
  return out;
}

function Replies({ replies, depth }) {
  if (!replies || replies.length === 0) return null;
  return html`<div class=${depth > 0 ? 'replies nested' : 'replies'}>
    ${replies.map((r) =>
      r.$type === THREAD
        ? html`<div class="reply-branch" key=${r.post.uri}>
            <${PostCard} post=${r.post} variant="reply" threadLine=${r.replies && r.replies.length > 0 && depth < 3} />
            ${depth < 3 && html`<${Replies} replies=${r.replies} depth=${depth + 1} />`}
          </div>`
        : html`<${Missing} node=${r} />`,
    )}
  </div>`;
}

export default function Thread({ params }) {
  const [state, setState] = useState({ loading: true });
  const load = async () => {
    setState({ loading: true });
    try {
      let actor = params.actor;
      if (!actor.startsWith('did:')) actor = (await query('com.atproto.identity.resolveHandle', { handle: actor })).did;
      const uri = `at://${actor}/app.bsky.feed.post/${params.rkey}`;
      const { thread } = await query('app.bsky.feed.getPostThread', { uri, depth: 10, parentHeight: 40 });
      setState({ thread });
    } catch (error) {
      setState({ error });
    }
  };
  useEffect(() => {
    load();
  }, [params.actor, params.rkey]);
  // Re-read the thread after a reply is published from here.
  useEffect(() => {
    if (published.value && state.thread) setTimeout(load, 600);
  }, [published.value]);
  const anchor = state.thread && state.thread.$type === THREAD ? state.thread.post : null;
  useTitle(anchor ? t('thread.titleBy', { name: displayName(anchor.author) }) : t('thread.title'));
  let body;
  if (state.loading) body = html`<${Loading} />`;
  else if (state.error) body = html`<${ErrorNotice} error=${state.error} onRetry=${load} />`;
  else if (anchor && hiddenFromSignedOut(anchor.author)) body = html`<${SignedOutOnly} />`;
  else if (!anchor) body = html`<${Empty} title=${state.thread?.$type === 'app.bsky.feed.defs#blockedPost' ? t('thread.blocked') : t('thread.notFound')} />`;
  else {
    const above = parents(state.thread);
    body = html`<div class="thread">
      ${above.map((p) => (p.$type === THREAD ? html`<${PostCard} post=${p.post} variant="parent" threadLine />` : html`<${Missing} node=${p} />`))}
      <${PostCard} post=${anchor} variant="anchor" />
      ${session.value && !anchor.viewer?.replyDisabled && html`<button type="button" class="reply-prompt" onClick=${() => openComposer({ reply: anchor })}>
        <${Avatar} actor=${me.value} size=${32} /><span>${t('thread.replyPrompt')}</span>
      </button>`}
      <${Replies} replies=${state.thread.replies} depth=${0} />
    </div>`;
  }
  return html`<div>
    <${ViewHeader} title=${t('thread.title')} back />
    ${body}
  </div>`;
}
