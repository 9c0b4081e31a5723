// What a signed-out visitor sees at /: what this server is, and the way in.

import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { config } from '../lib/config.js';
import { useTitle } from '../components/ui.js';

export default function Landing() {
  useTitle(null);
  return html`<section class="landing">
    <img class="landing-logo" src=${`${config.assets}icon.svg`} alt="" width="72" height="72" />
    <h1>${t('landing.title', { host: config.hostname })}</h1>
    <p class="lead">${t('landing.lead')}</p>
    <div class="stack-buttons">
      <a class="button big" href="/signup">${t('nav.signup')}</a>
      <a class="button secondary big" href="/signin">${t('nav.signin')}</a>
    </div>
    <p class="muted small">${t('landing.protocol')}</p>
    <p class="small"><a href="/move-in">${t('landing.moveIn')}</a></p>
  </section>`;
}

