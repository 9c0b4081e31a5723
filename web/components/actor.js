// One account in a list (followers, likers, search results): avatar, name, handle, the start of
// the bio, and a follow button.

import { html } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { session } from '../lib/auth.js';
import { actorShadow, actorWithShadow, toast } from '../lib/state.js';
import { setFollowing } from '../lib/api.js';
import { profilePath } from '../lib/router.js';
import { Avatar, displayName, errorText } from './ui.js';

export function ActorRow({ actor: raw, action }) {
  const actor = actorWithShadow(raw, actorShadow(raw.did).value);
  const following = !!actor.viewer?.following;
  const self = session.value && session.value.did === actor.did;
  const canFollow = session.value && !self && !actor.viewer?.blocking && !actor.viewer?.blockedBy;
  return html`<div class="actor-row">
    <a class="actor-link" href=${profilePath(actor)}>
      <${Avatar} actor=${actor} size=${44} />
      <span class="actor-text">
        <span class="display-name">${displayName(actor)}</span>
        <span class="handle">@${actor.handle}${actor.viewer?.followedBy ? html` <span class="pill">${t('profile.followsYou')}</span>` : ''}</span>
        ${actor.description && html`<span class="actor-bio">${actor.description}</span>`}
      </span>
    </a>
    ${action || (canFollow && html`<button type="button" class=${following ? 'button secondary small' : 'button small'} aria-pressed=${following ? 'true' : 'false'}
      aria-label=${following ? t('profile.unfollowName', { handle: actor.handle }) : t('profile.followName', { handle: actor.handle })}
      onClick=${() => setFollowing(actor, !following).catch((e) => toast(errorText(e), { kind: 'error' }))}>
      ${following ? t('profile.following') : t('profile.follow')}
    </button>`)}
  </div>`;
}
