// What a post embeds: images (a grid that opens the lightbox), a link card, a quoted post, or
// both media and a quote (app.bsky.embed.* views). Media this page cannot show (video, or images
// on another server, which the page's security policy does not load) get a clear placeholder.

import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { postPath } from '../lib/router.js';
import { Avatar, displayName, localImage, RelativeTime } from './ui.js';
import { RichText } from './richtext.js';
import { openLightbox } from './dialogs.js';

function ImageGrid({ images }) {
  const open = (index) => openLightbox({ images, index });
  const single = images.length === 1;
  return html`<div class=${`image-grid count-${images.length}`}>
    ${images.map((image, i) => {
      const src = localImage(image.thumb);
      const ratio = image.aspectRatio && image.aspectRatio.width && image.aspectRatio.height ? `${image.aspectRatio.width} / ${image.aspectRatio.height}` : '4 / 3';
      if (!src) {
        return html`<a class="image-remote" href=${image.fullsize} target="_blank" rel="noopener noreferrer">
          <span>${t('embed.remoteImage')}</span>${image.alt && html`<span class="muted">${image.alt}</span>`}
        </a>`;
      }
      return html`<div class="image-cell" style=${single ? `aspect-ratio:${ratio}` : undefined}>
        <button type="button" class="image-button"
          aria-label=${image.alt ? t('embed.openImageAlt', { alt: image.alt }) : t('embed.openImage', { n: i + 1 })}
          onClick=${(e) => {
            e.stopPropagation();
            open(i);
          }}>
          <img src=${src} alt="" loading="lazy" decoding="async" />
        </button>
        ${image.alt && html`<span class="alt-badge" aria-hidden="true">ALT</span>`}
      </div>`;
    })}
  </div>`;
}

function LinkCard({ external }) {
  const thumb = localImage(external.thumb);
  let host = '';
  try {
    host = new URL(external.uri).host.replace(/^www\./, '');
  } catch {
    host = external.uri;
  }
  return html`<a class="link-card" href=${external.uri} target="_blank" rel="noopener noreferrer nofollow ugc" onClick=${(e) => e.stopPropagation()}>
    ${thumb && html`<img class="link-card-thumb" src=${thumb} alt="" loading="lazy" />`}
    <span class="link-card-text">
      <span class="link-card-host">${host}</span>
      ${external.title && html`<span class="link-card-title">${external.title}</span>`}
      ${external.description && html`<span class="link-card-description">${external.description}</span>`}
    </span>
  </a>`;
}

/** A quoted post (app.bsky.embed.record#viewRecord and its not-found/blocked variants). */
export function QuotedPost({ record, interactive = true }) {
  if (!record) return null;
  const type = record.$type || '';
  if (type.endsWith('#viewNotFound') || type.endsWith('#viewDetached')) {
    return html`<div class="quote quote-missing">${t('embed.quoteNotFound')}</div>`;
  }
  if (type.endsWith('#viewBlocked')) return html`<div class="quote quote-missing">${t('embed.quoteBlocked')}</div>`;
  if (!record.author || !record.value || record.value.$type !== 'app.bsky.feed.post') {
    if (type === 'app.bsky.feed.defs#generatorView' || type === 'app.bsky.graph.defs#listView') {
      return html`<div class="quote">${record.displayName || record.name}</div>`;
    }
    return html`<div class="quote quote-missing">${t('embed.unsupported')}</div>`;
  }
  const href = postPath(record.uri, record.author.handle);
  const media = (record.embeds || []).find((e) => e.$type === 'app.bsky.embed.images#view' || e.$type === 'app.bsky.embed.recordWithMedia#view');
  const images = media && (media.images || (media.media && media.media.images));
  const body = html`
    <span class="quote-head">
      <${Avatar} actor=${record.author} size=${20} />
      <span class="display-name">${displayName(record.author)}</span>
      <span class="handle">@${record.author.handle}</span>
      <span class="dot" aria-hidden="true">·</span>
      <${RelativeTime} date=${record.indexedAt || record.value.createdAt} />
    </span>
    <div class="quote-body">
      <${RichText} text=${record.value.text} facets=${record.value.facets} className="rich-text quote-text" />
      ${images && images.length > 0 && localImage(images[0].thumb) && html`<img class="quote-thumb" src=${localImage(images[0].thumb)} alt=${images[0].alt || ''} loading="lazy" />`}
    </div>`;
  if (!interactive) return html`<div class="quote">${body}</div>`;
  return html`<a class="quote" href=${href} onClick=${(e) => e.stopPropagation()}><span class="visually-hidden">${t('embed.quoteLabel')}</span>${body}</a>`;
}

/** Any embed view. */
export function Embed({ embed, hideMedia = false }) {
  if (!embed) return null;
  switch (embed.$type) {
    case 'app.bsky.embed.images#view':
      return hideMedia ? null : html`<${ImageGrid} images=${embed.images || []} />`;
    case 'app.bsky.embed.external#view':
      return html`<${LinkCard} external=${embed.external} />`;
    case 'app.bsky.embed.record#view':
      return html`<${QuotedPost} record=${embed.record} />`;
    case 'app.bsky.embed.recordWithMedia#view':
      return html`<div class="embed-stack">
        <${Embed} embed=${embed.media} hideMedia=${hideMedia} />
        <${QuotedPost} record=${embed.record && embed.record.record} />
      </div>`;
    default:
      return html`<div class="embed-unsupported muted">${t('embed.unsupported')}</div>`;
  }
}
