// The dialogs that are not needed to show a page, each loaded when first opened so the first load
// stays small: the composer, the report form, the lightbox and the profile editor.

import { lazyDialog } from '../lib/state.js';

/** Opens the composer; `reply` or `quote` is a post view. */
export const openComposer = lazyDialog(() => import('./composer.js').then((m) => m.Composer));
/** `subject`: `{ uri, cid }` for a post, `{ did }` for an account; `kind`: 'post' or 'account'. */
export const openReport = lazyDialog(() => import('./report.js').then((m) => m.ReportDialog));
/** `images` of an images embed view and the `index` to show first. */
export const openLightbox = lazyDialog(() => import('./lightbox.js').then((m) => m.Lightbox));
/** `profile`: the member's profile view; resolves with what changed, or null. */
export const openProfileEditor = lazyDialog(() => import('./edit-profile.js').then((m) => m.EditProfileDialog));
