// Search: posts and people, with a typeahead of accounts while typing
// (app.bsky.feed.searchPosts, app.bsky.actor.searchActors, searchActorsTypeahead). Hashtag
// links land here too (`/hashtag/TAG` searches `#TAG`).

import { html, useState, useEffect, useRef } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { navigate, profilePath } from '../lib/router.js';
import { ViewHeader, Tabs, Empty, Avatar, displayName, useTitle } from '../components/ui.js';
import { PagedList } from '../components/feed.js';
import { PostCard } from '../components/post.js';
import { ActorRow } from '../components/actor.js';
import { Icon } from '../components/icons.js';

function Typeahead({ initial, onSubmit }) {
  const [q, setQ] = useState(initial);
  const [options, setOptions] = useState([]);
  const [active, setActive] = useState(-1);
  const [open, setOpen] = useState(false);
  const input = useRef(null);
  useEffect(() => {
    const term = q.trim();
    if (!term || term.startsWith('#')) {
      setOptions([]);
      return undefined;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      query('app.bsky.actor.searchActorsTypeahead', { q: term.replace(/^@/, ''), limit: 6 }, { signal: controller.signal })
        .then((r) => {
          setOptions(r.actors || []);
          setActive(-1);
        })
        .catch(() => {});
    }, 120);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [q]);
  const showList = open && options.length > 0;
  const submit = (e) => {
    e.preventDefault();
    if (showList && active >= 0) {
      navigate(profilePath(options[active]));
      return;
    }
    setOpen(false);
    if (q.trim()) onSubmit(q.trim());
  };
  const onKeyDown = (e) => {
    if (!showList) return;
    if (e.key === 'ArrowDown') setActive((active + 1) % options.length);
    else if (e.key === 'ArrowUp') setActive((active - 1 + options.length) % options.length);
    else if (e.key === 'Escape') setOpen(false);
    else return;
    e.preventDefault();
  };
  return html`<form class="search-form" role="search" onSubmit=${submit}>
    <label for="search-input" class="search-label">${t('search.label')}</label>
    <div class="search-box">
      <span class="search-icon"><${Icon} name="search" size=${18} /></span>
      <input id="search-input" ref=${input} type="search" role="combobox" autocomplete="off" value=${q}
        aria-expanded=${showList ? 'true' : 'false'} aria-controls="search-options" aria-autocomplete="list"
        aria-activedescendant=${showList && active >= 0 ? `search-option-${active}` : undefined}
        placeholder=${t('search.placeholder')}
        onInput=${(e) => {
          setQ(e.currentTarget.value);
          setOpen(true);
        }}
        onFocus=${() => setOpen(true)} onBlur=${() => setTimeout(() => setOpen(false), 150)} onKeyDown=${onKeyDown} />
      <button type="submit" class="button small">${t('search.submit')}</button>
    </div>
    ${showList && html`<ul id="search-options" class="typeahead" role="listbox" aria-label=${t('search.people')}>
      ${options.map((a, i) => html`<li id=${`search-option-${i}`} role="option" aria-selected=${i === active ? 'true' : 'false'} class=${i === active ? 'active' : ''}
        onMouseDown=${(e) => {
          e.preventDefault();
          navigate(profilePath(a));
        }}>
        <${Avatar} actor=${a} size=${32} />
        <span><span class="display-name">${displayName(a)}</span> <span class="handle">@${a.handle}</span></span>
      </li>`)}
    </ul>`}
  </form>`;
}

export default function Search({ params, query: search, route }) {
  const q = route.name === 'hashtag' ? `#${params.tag}` : search.get('q') || '';
  const tab = search.get('tab') === 'people' ? 'people' : 'posts';
  useTitle(q ? t('search.titleFor', { q }) : t('search.title'));
  const go = (term, nextTab = tab) => navigate(`/search?q=${encodeURIComponent(term)}${nextTab === 'people' ? '&tab=people' : ''}`);
  const base = `/search?q=${encodeURIComponent(q)}`;
  let results = null;
  if (q) {
    results = tab === 'people'
      ? html`<${PagedList} list key=${`p:${q}`} cacheKey=${`search:people:${q}`} label=${t('search.people')}
          load=${(cursor, signal) => query('app.bsky.actor.searchActors', { q, limit: 25, cursor }, { signal }).then((r) => ({ items: r.actors || [], cursor: r.cursor }))}
          itemKey=${(a) => a.did} renderItem=${(a) => html`<${ActorRow} actor=${a} />`} empty=${html`<${Empty} title=${t('search.noPeople', { q })} />`} />`
      : html`<${PagedList} key=${`s:${q}`} cacheKey=${`search:posts:${q}`} label=${t('search.posts')}
          load=${(cursor, signal) => query('app.bsky.feed.searchPosts', { q, limit: 25, cursor, sort: 'latest' }, { signal }).then((r) => ({ items: r.posts || [], cursor: r.cursor }))}
          itemKey=${(p) => p.uri} renderItem=${(p) => html`<${PostCard} post=${p} />`} empty=${html`<${Empty} title=${t('search.noPosts', { q })} />`} />`;
  }
  return html`<div>
    <${ViewHeader} title=${route.name === 'hashtag' ? q : t('search.title')} back=${route.name === 'hashtag'}>
      <${Typeahead} key=${q} initial=${q} onSubmit=${(term) => go(term)} />
      ${q && html`<${Tabs} label=${t('search.resultTabs')} active=${tab} tabs=${[
        { id: 'posts', label: t('search.posts'), href: base },
        { id: 'people', label: t('search.people'), href: `${base}&tab=people` },
      ]} />`}
    </${ViewHeader}>
    ${q ? html`<div role="tabpanel" aria-label=${tab === 'people' ? t('search.people') : t('search.posts')}>${results}</div>` : html`<${Empty} title=${t('search.hint')} />`}
  </div>`;
}
