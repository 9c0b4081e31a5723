// Writing a post: text with a live count of graphemes (the 300 limit), mentions with a typeahead,
// links and hashtags as facets, the language, up to four images each with required alt text
// (resized in the browser before upload), and a reply or quote context.

import { html, useState, useRef, useEffect, useId } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { openDialog, toast, published, me } from '../lib/state.js';
import { publishPost, prepareImage } from '../lib/api.js';
import { query } from '../lib/xrpc.js';
import { postLength, MAX_POST_GRAPHEMES } from '../lib/graphemes.js';
import { postPath } from '../lib/router.js';
import { Dialog, ConfirmDialog } from './dialog.js';
import { Avatar, displayName, errorText } from './ui.js';
import { QuotedPost } from './embeds.js';
import { Icon } from './icons.js';

export const MAX_IMAGES = 4;
/** Languages offered first; the reader's own is added when missing. */
const LANGUAGES = ['en', 'de', 'es', 'fr', 'it', 'ja', 'ko', 'nl', 'pl', 'pt', 'sv', 'uk', 'zh'];
const MENTION_AT_CARET = /(^|\s)@([a-zA-Z0-9.-]{1,64})$/;

function languageName(code) {
  try {
    return new Intl.DisplayNames([navigator.language || 'en'], { type: 'language' }).of(code) || code;
  } catch {
    return code;
  }
}

function defaultLanguage() {
  return (navigator.language || 'en').split('-')[0].toLowerCase();
}

function Counter({ remaining }) {
  const used = MAX_POST_GRAPHEMES - remaining;
  const state = remaining < 0 ? 'over' : remaining <= 20 ? 'near' : '';
  return html`<span class=${`counter ${state}`} aria-live=${remaining <= 20 ? 'polite' : 'off'}
    aria-label=${t('composer.counter', { used, max: MAX_POST_GRAPHEMES })}>${remaining}</span>`;
}

function ReplyContext({ post }) {
  return html`<div class="reply-context">
    <${Avatar} actor=${post.author} size=${28} />
    <div>
      <p class="muted small">${t('composer.replyingTo', { name: displayName(post.author) })}</p>
      <p class="reply-context-text">${(post.record && post.record.text) || ''}</p>
    </div>
  </div>`;
}

export function Composer({ reply, quote, close }) {
  const id = useId();
  const [text, setText] = useState('');
  const [images, setImages] = useState([]);
  const [lang, setLang] = useState(defaultLanguage());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [suggestions, setSuggestions] = useState([]);
  const textarea = useRef(null);
  const fileInput = useRef(null);
  const length = postLength(text);
  const missingAlt = images.some((i) => !i.alt.trim());
  const processing = images.some((i) => i.processing);
  const empty = !text.trim() && images.length === 0;
  const canPost = !busy && !empty && length.fits && !missingAlt && !processing;

  useEffect(() => {
    textarea.current && textarea.current.focus();
    return () => images.forEach((i) => i.url && URL.revokeObjectURL(i.url));
  }, []);

  // Typeahead for the mention being typed at the caret.
  useEffect(() => {
    const el = textarea.current;
    const before = el ? text.slice(0, el.selectionStart) : text;
    const m = before.match(MENTION_AT_CARET);
    if (!m) {
      setSuggestions([]);
      return undefined;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      query('app.bsky.actor.searchActorsTypeahead', { q: m[2], limit: 5 }, { signal: controller.signal })
        .then((r) => setSuggestions(r.actors || []))
        .catch(() => setSuggestions([]));
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text]);

  const pickSuggestion = (actor) => {
    const el = textarea.current;
    const caret = el.selectionStart;
    const before = text.slice(0, caret).replace(MENTION_AT_CARET, (all, lead) => `${lead}@${actor.handle} `);
    const next = before + text.slice(caret);
    setText(next);
    setSuggestions([]);
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(before.length, before.length);
    });
  };

  const addFiles = async (files) => {
    const chosen = [...files].filter((f) => f.type.startsWith('image/')).slice(0, MAX_IMAGES - images.length);
    if (files.length > chosen.length) toast(t('composer.imageLimit', { max: MAX_IMAGES }), { kind: 'error' });
    for (const file of chosen) {
      const key = `${file.name}-${Math.random()}`;
      setImages((list) => [...list, { key, alt: '', processing: true }]);
      try {
        const prepared = await prepareImage(file);
        setImages((list) => list.map((i) => (i.key === key ? { ...i, ...prepared, processing: false } : i)));
      } catch {
        setImages((list) => list.filter((i) => i.key !== key));
        toast(t('error.imageUnreadable'), { kind: 'error' });
      }
    }
  };

  const removeImage = (key) =>
    setImages((list) => {
      const gone = list.find((i) => i.key === key);
      if (gone && gone.url) URL.revokeObjectURL(gone.url);
      return list.filter((i) => i.key !== key);
    });

  const setAlt = (key, alt) => setImages((list) => list.map((i) => (i.key === key ? { ...i, alt } : i)));

  const submit = async (e) => {
    e && e.preventDefault();
    if (!canPost) return;
    setBusy(true);
    setError('');
    try {
      const result = await publishPost({ text: text.trim(), langs: lang ? [lang] : [], images, reply, quote });
      published.value = { uri: result.uri, at: Date.now() };
      const handle = me.value && me.value.handle;
      toast(reply ? t('composer.replied') : t('composer.posted'), { link: { href: postPath(result.uri, handle), label: t('composer.view') } });
      close(result);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  const tryClose = async () => {
    if (empty || busy) return close(null);
    const discard = await openDialog(ConfirmDialog, { title: t('composer.discardTitle'), message: t('composer.discardExplain'), confirmLabel: t('composer.discard'), danger: true });
    if (discard) close(null);
  };

  const onKeyDown = (e) => {
    if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) submit();
  };

  const languages = LANGUAGES.includes(defaultLanguage()) ? LANGUAGES : [defaultLanguage(), ...LANGUAGES];
  const title = reply ? t('composer.titleReply') : quote ? t('composer.titleQuote') : t('composer.title');

  return html`<${Dialog} title=${title} close=${tryClose} className="composer" wide>
    <form onSubmit=${submit} onKeyDown=${onKeyDown}>
      ${reply && html`<${ReplyContext} post=${reply} />`}
      <div class="composer-row">
        <${Avatar} actor=${me.value} size=${42} />
        <div class="composer-main">
          <label for=${`${id}-text`} class="composer-label">${reply ? t('composer.replyLabel') : t('composer.label')}</label>
          <textarea id=${`${id}-text`} ref=${textarea} class="composer-text" rows="5" value=${text}
            placeholder=${reply ? t('composer.replyPlaceholder') : t('composer.placeholder')}
            aria-describedby=${`${id}-count`}
            onInput=${(e) => setText(e.currentTarget.value)}
            onPaste=${(e) => {
              const files = [...(e.clipboardData?.files || [])];
              if (files.length) {
                e.preventDefault();
                addFiles(files);
              }
            }}></textarea>
          ${suggestions.length > 0 && html`<ul class="suggestions" aria-label=${t('composer.suggestions')}>
            ${suggestions.map((a) => html`<li><button type="button" class="suggestion" onClick=${() => pickSuggestion(a)}>
              <${Avatar} actor=${a} size=${28} /><span><span class="display-name">${displayName(a)}</span> <span class="handle">@${a.handle}</span></span>
            </button></li>`)}
          </ul>`}
        </div>
      </div>
      ${images.length > 0 && html`<ul class="composer-images" aria-label=${t('composer.images')}>
        ${images.map((image, i) => html`<li class="composer-image" key=${image.key}>
          ${image.processing ? html`<div class="composer-thumb placeholder" role="status">${t('composer.processing')}</div>` : html`<img class="composer-thumb" src=${image.url} alt=${image.alt || t('composer.imageN', { n: i + 1 })} />`}
          <div class="composer-image-fields">
            <label for=${`${id}-alt-${i}`}>${t('composer.altLabel', { n: i + 1 })}</label>
            <textarea id=${`${id}-alt-${i}`} rows="2" maxlength="2000" required value=${image.alt}
              aria-invalid=${image.alt.trim() ? 'false' : 'true'}
              placeholder=${t('composer.altPlaceholder')} onInput=${(e) => setAlt(image.key, e.currentTarget.value)}></textarea>
            <button type="button" class="button secondary small" onClick=${() => removeImage(image.key)}>${t('composer.removeImage', { n: i + 1 })}</button>
          </div>
        </li>`)}
      </ul>`}
      ${quote && html`<${QuotedPost} record=${{ ...quote, $type: 'app.bsky.embed.record#viewRecord', value: quote.record }} interactive=${false} />`}
      ${missingAlt && html`<p class="hint warn">${t('composer.altRequired')}</p>`}
      ${error && html`<p class="field-error" role="alert">${error}</p>`}
      <div class="composer-bar">
        <div class="composer-tools">
          <input ref=${fileInput} id=${`${id}-files`} class="visually-hidden file-input" type="file" accept="image/jpeg,image/png,image/webp,image/gif" multiple
            disabled=${images.length >= MAX_IMAGES} onChange=${(e) => {
              addFiles(e.currentTarget.files);
              e.currentTarget.value = '';
            }} />
          <label for=${`${id}-files`} class=${images.length >= MAX_IMAGES ? 'icon-button disabled' : 'icon-button'}>
            <${Icon} name="image" /><span class="visually-hidden">${t('composer.addImages')}</span>
          </label>
          <label class="lang-label" for=${`${id}-lang`}>${t('composer.language')}</label>
          <select id=${`${id}-lang`} class="lang-select" value=${lang} onChange=${(e) => setLang(e.currentTarget.value)}>
            ${languages.map((code) => html`<option value=${code}>${languageName(code)}</option>`)}
          </select>
        </div>
        <div class="composer-submit">
          <span id=${`${id}-count`}><${Counter} remaining=${length.remaining} /></span>
          <button type="submit" class="button" disabled=${!canPost}>${busy ? t('composer.posting') : reply ? t('composer.reply') : t('composer.post')}</button>
        </div>
      </div>
    </form>
  </${Dialog}>`;
}
