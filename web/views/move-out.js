// Moving to another server: what moves (posts, images, followers, settings: the identity is the
// member's), the steps, and what the new server needs to know about this one. The move itself
// happens at the new server (a skyhold server's "move in" page, or the Bluesky app), which asks
// this one for the account's data with the member's sign-in.

import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { session } from '../lib/auth.js';
import { config } from '../lib/config.js';
import { ViewHeader, useTitle } from '../components/ui.js';

export default function MoveOut() {
  useTitle(t('moveOut.title'));
  const s = session.value;
  return html`<div>
    <${ViewHeader} title=${t('moveOut.title')} back />
    <div class="page-body">
      <p class="lead">${t('moveOut.lead')}</p>
      <section class="card" aria-labelledby="what-moves">
        <h2 id="what-moves">${t('moveOut.whatTitle')}</h2>
        <p>${t('moveOut.whatText')}</p>
      </section>
      <section class="card" aria-labelledby="steps-title">
        <h2 id="steps-title">${t('moveOut.stepsTitle')}</h2>
        <ol class="steps">
          <li><a href="/settings/recovery-key">${t('moveOut.step1')}</a> ${t('moveOut.step1Text')}</li>
          <li><a href="/settings/backup">${t('moveOut.step2')}</a> ${t('moveOut.step2Text')}</li>
          <li>${t('moveOut.step3')}</li>
          <li>${t('moveOut.step4')}</li>
        </ol>
      </section>
      <section class="card" aria-labelledby="details-title">
        <h2 id="details-title">${t('moveOut.detailsTitle')}</h2>
        <dl class="facts-list">
          <dt>${t('moveOut.server')}</dt><dd class="mono">${config.publicUrl}</dd>
          <dt>${t('moveOut.handle')}</dt><dd class="mono">${s.handle}</dd>
          <dt>${t('moveOut.did')}</dt><dd class="mono">${s.did}</dd>
        </dl>
        <p class="muted small">${t('moveOut.after')}</p>
      </section>
    </div>
  </div>`;
}
