// Editing one's profile record (app.bsky.actor.profile/self): display name, bio, avatar and banner
// (cropped and resized in the browser, then uploaded). The record is read first and written back
// with swapRecord, so fields this form does not show (pinned post, labels) are kept and a
// concurrent edit is not overwritten silently.

import { html, useState, useId } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query, procedure } from '../lib/xrpc.js';
import { session } from '../lib/auth.js';
import { uploadBlob, prepareImage } from '../lib/api.js';
import { postLength } from '../lib/graphemes.js';
import { Dialog } from './dialog.js';
import { Avatar, localImage, errorText, describedBy } from './ui.js';

const MAX_NAME = 64;
const MAX_BIO = 256;

async function readProfileRecord(did) {
  try {
    return await query('com.atproto.repo.getRecord', { repo: did, collection: 'app.bsky.actor.profile', rkey: 'self' });
  } catch (e) {
    if (e.error === 'RecordNotFound' || e.status === 400) return null;
    throw e;
  }
}

export function EditProfileDialog({ profile, close }) {
  const id = useId();
  const [name, setName] = useState(profile.displayName || '');
  const [bio, setBio] = useState(profile.description || '');
  const [avatar, setAvatar] = useState(null); // { blob, url }
  const [banner, setBanner] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const nameLength = postLength(name, MAX_NAME, 640);
  const bioLength = postLength(bio, MAX_BIO, 2560);
  const valid = nameLength.fits && bioLength.fits;

  const pick = (setter, options) => async (e) => {
    const file = e.currentTarget.files && e.currentTarget.files[0];
    e.currentTarget.value = '';
    if (!file) return;
    try {
      setter(await prepareImage(file, options));
    } catch {
      setError(t('error.imageUnreadable'));
    }
  };

  const save = async (e) => {
    e.preventDefault();
    if (!valid || busy) return;
    setBusy(true);
    setError('');
    const did = session.value.did;
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const existing = await readProfileRecord(did);
        const record = { ...(existing ? existing.value : {}), $type: 'app.bsky.actor.profile' };
        record.displayName = name.trim() || undefined;
        record.description = bio.trim() || undefined;
        if (avatar) record.avatar = await uploadBlob(avatar.blob);
        if (banner) record.banner = await uploadBlob(banner.blob);
        try {
          await procedure('com.atproto.repo.putRecord', { repo: did, collection: 'app.bsky.actor.profile', rkey: 'self', record, swapRecord: existing ? existing.cid : null });
          break;
        } catch (err) {
          if (err.error !== 'InvalidSwap' || attempt === 2) throw err;
        }
      }
      const shown = { displayName: name.trim(), description: bio.trim() };
      if (avatar) shown.avatar = avatar.url;
      if (banner) shown.banner = banner.url;
      close(shown);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  const bannerSrc = banner ? banner.url : localImage(profile.banner);
  return html`<${Dialog} title=${t('profile.editTitle')} close=${() => close(null)} wide>
    <form onSubmit=${save} class="edit-profile">
      <div class="edit-banner">
        ${bannerSrc ? html`<img src=${bannerSrc} alt=${t('profile.bannerPreview')} />` : html`<div class="banner-empty"></div>`}
      </div>
      <div class="edit-images">
        <div class="edit-avatar"><${Avatar} actor=${{ ...profile, avatar: avatar ? avatar.url : profile.avatar }} size=${80} alt=${t('profile.avatarPreview')} /></div>
        <div class="file-field">
          <input id=${`${id}-avatar`} class="visually-hidden file-input" type="file" accept="image/jpeg,image/png,image/webp" onChange=${pick(setAvatar, { maxSide: 1000, aspect: 1 })} />
          <label class="button secondary small" for=${`${id}-avatar`}>${t('profile.chooseAvatar')}</label>
        </div>
        <div class="file-field">
          <input id=${`${id}-banner`} class="visually-hidden file-input" type="file" accept="image/jpeg,image/png,image/webp" onChange=${pick(setBanner, { maxSide: 3000, aspect: 3 })} />
          <label class="button secondary small" for=${`${id}-banner`}>${t('profile.chooseBanner')}</label>
        </div>
      </div>
      <div class="field">
        <label for=${`${id}-name`}>${t('profile.displayName')}</label>
        <input id=${`${id}-name`} type="text" value=${name} autocomplete="nickname" aria-describedby=${describedBy(`${id}-name`, { hint: true })} onInput=${(e) => setName(e.currentTarget.value)} />
        <p class="hint" id=${`${id}-name-hint`}>${t('profile.remaining', { count: nameLength.remaining })}</p>
      </div>
      <div class="field">
        <label for=${`${id}-bio`}>${t('profile.bio')}</label>
        <textarea id=${`${id}-bio`} rows="4" value=${bio} aria-describedby=${describedBy(`${id}-bio`, { hint: true })} onInput=${(e) => setBio(e.currentTarget.value)}></textarea>
        <p class="hint" id=${`${id}-bio-hint`}>${t('profile.remaining', { count: bioLength.remaining })}</p>
      </div>
      ${error && html`<p class="field-error" role="alert">${error}</p>`}
      <div class="dialog-actions">
        <button type="button" class="button secondary" onClick=${() => close(null)}>${t('common.cancel')}</button>
        <button type="submit" class="button" disabled=${!valid || busy}>${busy ? t('common.saving') : t('common.save')}</button>
      </div>
    </form>
  </${Dialog}>`;
}
