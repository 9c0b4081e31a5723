// Full-size images in a dialog, with their alt text shown beneath and arrows between them.

import { html, useState } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { Dialog } from './dialog.js';
import { localImage } from './ui.js';
import { Icon } from './icons.js';

export function Lightbox({ images, index = 0, close }) {
  const [at, setAt] = useState(index);
  const image = images[at];
  const many = images.length > 1;
  const move = (step) => setAt((at + step + images.length) % images.length);
  const onKeyDown = (e) => {
    if (!many) return;
    if (e.key === 'ArrowRight') move(1);
    else if (e.key === 'ArrowLeft') move(-1);
  };
  return html`<${Dialog} title=${many ? t('lightbox.titleOf', { n: at + 1, total: images.length }) : t('lightbox.title')} close=${close} className="lightbox" wide>
    <div class="lightbox-stage" onKeyDown=${onKeyDown}>
      ${many && html`<button type="button" class="icon-button lightbox-prev" aria-label=${t('lightbox.previous')} onClick=${() => move(-1)}><${Icon} name="back" /></button>`}
      <img src=${localImage(image.fullsize) || localImage(image.thumb)} alt=${image.alt || ''} />
      ${many && html`<button type="button" class="icon-button lightbox-next" aria-label=${t('lightbox.next')} onClick=${() => move(1)}><${Icon} name="chevron" /></button>`}
    </div>
    ${image.alt && html`<p class="lightbox-alt">${image.alt}</p>`}
  </${Dialog}>`;
}
