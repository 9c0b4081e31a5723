// Line icons drawn for skyhold (24×24, stroke follows the text colour). Decorative: the button or
// link around an icon carries the accessible name.

import { html } from '../lib/html.js';

const paths = {
  home: 'M3 10.5 12 3l9 7.5V20a1 1 0 0 1-1 1h-5v-6H9v6H4a1 1 0 0 1-1-1z',
  search: 'M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM20 20l-4-4',
  bell: 'M6 9a6 6 0 1 1 12 0c0 6 2.5 8 2.5 8h-17S6 15 6 9zM10 20.5a2 2 0 0 0 4 0',
  person: 'M12 3.5a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM4 21c0-4 3.6-6.5 8-6.5s8 2.5 8 6.5',
  people: 'M9 4a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7zM2.5 20c0-3.5 3-5.5 6.5-5.5s6.5 2 6.5 5.5M16 4.5a3.2 3.2 0 0 1 0 6.2M18 14.8c2 .6 3.5 2.3 3.5 5.2',
  settings: 'M4 7h9M17 7h3M4 17h3M11 17h9M15 5v4M9 15v4',
  pencil: 'M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4',
  reply: 'M20.5 11.5a8 8 0 0 1-11.7 7.1L4 20l1.3-4.3a8 8 0 1 1 15.2-4.2z',
  repost: 'M17 3l3.5 3.5L17 10M3.5 12v-1.5a4 4 0 0 1 4-4h13M7 21l-3.5-3.5L7 14M20.5 12v1.5a4 4 0 0 1-4 4h-13',
  heart: 'M12 20.5s-8.5-5-8.5-11A4.8 4.8 0 0 1 12 6.6a4.8 4.8 0 0 1 8.5 2.9c0 6-8.5 11-8.5 11z',
  close: 'M6 6l12 12M18 6 6 18',
  image: 'M5 3.5h14A1.5 1.5 0 0 1 20.5 5v14a1.5 1.5 0 0 1-1.5 1.5H5A1.5 1.5 0 0 1 3.5 19V5A1.5 1.5 0 0 1 5 3.5zM9 7.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zM20.5 15.5l-5-5-11 10',
  back: 'M19 12H5M11.5 18.5 5 12l6.5-6.5',
  shield: 'M12 3l8 3v6c0 5-3.4 8.2-8 9.5C7.4 20.2 4 17 4 12V6z',
  key: 'M8 11a4.5 4.5 0 1 0 0 9 4.5 4.5 0 0 0 0-9zM11.2 12.3 20 3.5M16.5 7l3 3M14.5 9l2 2',
  signout: 'M9.5 20.5H5a1.5 1.5 0 0 1-1.5-1.5V5A1.5 1.5 0 0 1 5 3.5h4.5M16 16.5l4.5-4.5L16 7.5M20.5 12H9.5',
  link: 'M10 14a4.5 4.5 0 0 0 6.4 0l3-3a4.5 4.5 0 0 0-6.4-6.4l-1 1M14 10a4.5 4.5 0 0 0-6.4 0l-3 3a4.5 4.5 0 0 0 6.4 6.4l1-1',
  quote: 'M5 7h5v5c0 3-2 5-5 5M14 7h5v5c0 3-2 5-5 5',
  trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13.5h10L18 7M9 7V3.5h6V7',
  flag: 'M5 21V4M5 4h12.5l-2.5 4.5 2.5 4.5H5',
  mute: 'M11 5 6.5 9H3.5v6h3L11 19zM21.5 9.5l-5 5M16.5 9.5l5 5',
  block: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM5.6 5.6l12.8 12.8',
  download: 'M12 3.5v11M7.5 10.5 12 15l4.5-4.5M4.5 20.5h15',
  plus: 'M12 5v14M5 12h14',
  bookmark: 'M6.5 3.5h11v17l-5.5-4-5.5 4z',
  globe: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM3 12h18M12 3c2.5 2.5 3.8 5.5 3.8 9s-1.3 6.5-3.8 9c-2.5-2.5-3.8-5.5-3.8-9S9.5 5.5 12 3z',
  check: 'M4.5 12.5l5 5 10-11',
  chevron: 'M9 5.5 15.5 12 9 18.5',
  mail: 'M3.5 5.5h17v13h-17zM3.5 6l8.5 7 8.5-7',
  user: 'M12 3.5a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM4 21c0-4 3.6-6.5 8-6.5s8 2.5 8 6.5',
};

const dots = html`<circle cx="5" cy="12" r="1.8" /><circle cx="12" cy="12" r="1.8" /><circle cx="19" cy="12" r="1.8" />`;

/** An icon by name; `filled` fills the shape (a liked heart). */
export function Icon({ name, filled = false, size = 20 }) {
  return html`<svg class="icon" width=${size} height=${size} viewBox="0 0 24 24" aria-hidden="true" focusable="false"
    fill=${name === 'more' || filled ? 'currentColor' : 'none'} stroke="currentColor" stroke-width="1.8"
    stroke-linecap="round" stroke-linejoin="round">${name === 'more' ? dots : html`<path d=${paths[name]} />`}</svg>`;
}
