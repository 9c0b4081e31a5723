// Moderation settings: muted accounts, blocked accounts (app.bsky.graph.getMutes / getBlocks) and
// muted words (mutedWordsPref in the account's preferences; posts that match are collapsed).

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { mutedWords, saveMutedWords, toast } from '../lib/state.js';
import { setMuted, setBlocking } from '../lib/api.js';
import { ViewHeader, Field, Empty, errorText, useTitle } from '../components/ui.js';
import { PagedList } from '../components/feed.js';
import { ActorRow } from '../components/actor.js';

function MutedWords() {
  const [value, setValue] = useState('');
  const [tagsOnly, setTagsOnly] = useState(false);
  const [busy, setBusy] = useState(false);
  const words = mutedWords.value;
  const save = async (items) => {
    setBusy(true);
    try {
      await saveMutedWords(items);
    } catch (err) {
      toast(errorText(err), { kind: 'error' });
    }
    setBusy(false);
  };
  const add = async (e) => {
    e.preventDefault();
    const word = value.trim().replace(/^#/, '');
    if (!word) return;
    await save([...words, { value: word, targets: tagsOnly ? ['tag'] : ['content', 'tag'], actorTarget: 'all', id: crypto.randomUUID() }]);
    setValue('');
    toast(t('moderation.wordMuted', { word }));
  };
  return html`<section class="card" aria-labelledby="muted-words-title">
    <h2 id="muted-words-title">${t('moderation.mutedWords')}</h2>
    <p class="muted">${t('moderation.mutedWordsText')}</p>
    <form onSubmit=${add}>
      <${Field} id="muted-word" label=${t('moderation.wordLabel')}>
        <input id="muted-word" type="text" required maxlength="100" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      </${Field}>
      <label class="checkbox"><input type="checkbox" checked=${tagsOnly} onChange=${(e) => setTagsOnly(e.currentTarget.checked)} /> ${t('moderation.tagsOnly')}</label>
      <button type="submit" class="button" disabled=${busy || !value.trim()}>${t('moderation.muteWord')}</button>
    </form>
    ${words.length === 0 ? html`<p class="muted">${t('moderation.noWords')}</p>` : html`<ul class="chips" aria-label=${t('moderation.mutedWords')}>
      ${words.map((w) => html`<li class="chip">
        <span>${w.value}${(w.targets || []).length === 1 && w.targets[0] === 'tag' ? ` (${t('moderation.tagsOnlyShort')})` : ''}</span>
        <button type="button" class="icon-button small" aria-label=${t('moderation.unmuteWord', { word: w.value })} disabled=${busy}
          onClick=${() => save(words.filter((x) => x !== w))}>×</button>
      </li>`)}
    </ul>`}
  </section>`;
}

export default function Moderation({ query: search }) {
  useTitle(t('moderation.title'));
  const [version, setVersion] = useState(0);
  const unmute = (actor) => setMuted(actor, false).then(() => setVersion(version + 1), (e) => toast(errorText(e), { kind: 'error' }));
  const unblock = (actor) => setBlocking(actor, false).then(() => setVersion(version + 1), (e) => toast(errorText(e), { kind: 'error' }));
  return html`<div>
    <${ViewHeader} title=${t('moderation.title')} back />
    <div class="page-body">
      <${MutedWords} />
      <section aria-labelledby="muted-accounts">
        <h2 id="muted-accounts">${t('moderation.mutedAccounts')}</h2>
        <${PagedList} list key=${`m${version}`} label=${t('moderation.mutedAccounts')} itemKey=${(a) => a.did}
          load=${(cursor, signal) => query('app.bsky.graph.getMutes', { limit: 50, cursor }, { signal }).then((r) => ({ items: r.mutes || [], cursor: r.cursor }))}
          renderItem=${(a) => html`<${ActorRow} actor=${a} action=${html`<button type="button" class="button secondary small" aria-label=${t('moderation.unmuteHandle', { handle: a.handle })} onClick=${() => unmute(a)}>${t('moderation.unmute')}</button>`} />`}
          empty=${html`<${Empty} title=${t('moderation.noMuted')} />`} />
      </section>
      <section aria-labelledby="blocked-accounts">
        <h2 id="blocked-accounts">${t('moderation.blockedAccounts')}</h2>
        <${PagedList} list key=${`b${version}`} label=${t('moderation.blockedAccounts')} itemKey=${(a) => a.did}
          load=${(cursor, signal) => query('app.bsky.graph.getBlocks', { limit: 50, cursor }, { signal }).then((r) => ({ items: r.blocks || [], cursor: r.cursor }))}
          renderItem=${(a) => html`<${ActorRow} actor=${a} action=${html`<button type="button" class="button secondary small" aria-label=${t('moderation.unblockHandle', { handle: a.handle })} onClick=${() => unblock(a)}>${t('moderation.unblock')}</button>`} />`}
          empty=${html`<${Empty} title=${t('moderation.noBlocked')} />`} />
      </section>
    </div>
  </div>`;
}
