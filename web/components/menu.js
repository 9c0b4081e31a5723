// A menu button (WAI-ARIA menu pattern): the button says what it opens, arrow keys move between
// items, Escape and a click elsewhere close it and focus returns to the button.

import { html, useState, useRef, useEffect, useId } from '../lib/html.js';

/**
 * Shows the menu in the top layer (a manual popover), so no list item's containment clips it, next
 * to its button: below and right-aligned, or above when there is no room below.
 */
function place(button, menu) {
  if (!button || !menu) return;
  if (menu.showPopover && !menu.matches(':popover-open')) menu.showPopover();
  const b = button.getBoundingClientRect();
  const m = menu.getBoundingClientRect();
  const left = Math.max(8, Math.min(b.right - m.width, window.innerWidth - m.width - 8));
  const below = b.bottom + 4 + m.height <= window.innerHeight - 8;
  const top = below ? b.bottom + 4 : Math.max(8, b.top - 4 - m.height);
  menu.style.left = `${left}px`;
  menu.style.top = `${top}px`;
}

/** `items`: `[{ label, icon?, onSelect, danger? }]` (falsy entries are skipped). */
/** `label` names the menu; the button's name comes from `label` unless `named` (its children say it). */
export function Menu({ label, items, children, className = 'icon-button', named = false }) {
  const [open, setOpen] = useState(false);
  const button = useRef(null);
  const list = useRef(null);
  const id = useId();
  const visible = items.filter(Boolean);

  useEffect(() => {
    if (!open) return undefined;
    place(button.current, list.current);
    const first = list.current && list.current.querySelector('[role=menuitem]');
    if (first) first.focus();
    const outside = (e) => {
      if (!list.current?.contains(e.target) && !button.current?.contains(e.target)) setOpen(false);
    };
    // The menu is placed once; scrolling the page away from its button closes it.
    const scrolled = () => setOpen(false);
    document.addEventListener('pointerdown', outside);
    window.addEventListener('scroll', scrolled, { passive: true });
    window.addEventListener('resize', scrolled);
    return () => {
      document.removeEventListener('pointerdown', outside);
      window.removeEventListener('scroll', scrolled);
      window.removeEventListener('resize', scrolled);
    };
  }, [open]);

  const closeAndFocus = () => {
    setOpen(false);
    button.current && button.current.focus();
  };

  const onKeyDown = (e) => {
    const items = [...list.current.querySelectorAll('[role=menuitem]')];
    const index = items.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') items[(index + 1) % items.length].focus();
    else if (e.key === 'ArrowUp') items[(index - 1 + items.length) % items.length].focus();
    else if (e.key === 'Home') items[0].focus();
    else if (e.key === 'End') items[items.length - 1].focus();
    else if (e.key === 'Escape' || e.key === 'Tab') {
      closeAndFocus();
      if (e.key === 'Tab') return;
    } else return;
    e.preventDefault();
    e.stopPropagation();
  };

  const select = (item) => {
    closeAndFocus();
    item.onSelect();
  };

  return html`<div class="menu-wrap" onClick=${(e) => e.stopPropagation()}>
    <button ref=${button} type="button" class=${className} aria-label=${named ? undefined : label} aria-haspopup="menu" aria-expanded=${open ? 'true' : 'false'} aria-controls=${open ? id : undefined} onClick=${() => setOpen(!open)}>
      ${children}
    </button>
    ${open && html`<div ref=${list} id=${id} class="menu" role="menu" popover="manual" aria-label=${label} onKeyDown=${onKeyDown}>
      ${visible.map((item) => html`<button type="button" role="menuitem" tabindex="-1" class=${item.danger ? 'menu-item danger' : 'menu-item'} onClick=${() => select(item)}>
        ${item.icon}<span>${item.label}</span>
      </button>`)}
    </div>`}
  </div>`;
}
