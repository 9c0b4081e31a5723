// A path that matches no view.

import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { ViewHeader, Empty, useTitle } from '../components/ui.js';

export default function NotFound() {
  useTitle(t('notFound.title'));
  return html`<div>
    <${ViewHeader} title=${t('notFound.title')} back />
    <${Empty} title=${t('notFound.text')}><a class="button" href="/">${t('notFound.home')}</a></${Empty}>
  </div>`;
}
