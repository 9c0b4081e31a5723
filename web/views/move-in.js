// Move an account here from another server: a wizard over lib/move-in.js with a progress bar,
// one step at a time, resumable after an error or a reload. The page may connect to the old
// server (its Content-Security-Policy allows other origins for connections only).

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query } from '../lib/xrpc.js';
import { config } from '../lib/config.js';
import { session, signIn, endPasswordSession } from '../lib/auth.js';
import { ViewHeader, Field, errorText, useTitle } from '../components/ui.js';
import {
  STEPS, loadProgress, saveProgress, clearProgress, clients, signInOld, createHere, copyRepo, copyBlobs,
  copyPreferences, identityPointsHere, requestCode, changeIdentity, finish,
} from '../lib/move-in.js';

/** Steps that run without asking anything. */
const AUTOMATIC = ['repo', 'blobs', 'prefs', 'finish'];

function Progress({ step }) {
  const index = step === 'done' ? STEPS.length : STEPS.indexOf(step);
  return html`<div class="move-progress">
    <progress max=${STEPS.length} value=${index} aria-label=${t('moveIn.progress', { done: index, total: STEPS.length })}></progress>
    <ol class="move-steps">
      ${STEPS.map((s, i) => html`<li class=${i < index ? 'done' : i === index ? 'current' : ''} aria-current=${i === index ? 'step' : undefined}>${t(`moveIn.step.${s}`)}</li>`)}
    </ol>
  </div>`;
}

function SignInOld({ progress, onDone }) {
  const [server, setServer] = useState(progress ? progress.oldBase : '');
  const [identifier, setIdentifier] = useState(progress ? progress.oldHandle : '');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const found = await signInOld(server, identifier, password, needsCode ? code : undefined);
      if (progress && progress.did && progress.did !== found.did) throw new Error(t('moveIn.otherAccount'));
      onDone(found);
    } catch (err) {
      if (err.error === 'AuthFactorTokenRequired') setNeedsCode(true);
      setError(err.error ? errorText(err) : err.message);
      setBusy(false);
    }
  };
  return html`<form class="card" onSubmit=${submit}>
    <h2>${t('moveIn.signinTitle')}</h2>
    <p class="muted">${t('moveIn.signinText')}</p>
    <${Field} id="old-server" label=${t('moveIn.server')} hint=${t('moveIn.serverHint')}>
      <input id="old-server" type="text" required autocapitalize="off" spellcheck="false" placeholder="bsky.social" aria-describedby="old-server-hint" value=${server} onInput=${(e) => setServer(e.currentTarget.value)} />
    </${Field}>
    <${Field} id="old-identifier" label=${t('moveIn.identifier')}>
      <input id="old-identifier" type="text" required autocapitalize="off" spellcheck="false" autocomplete="username" value=${identifier} onInput=${(e) => setIdentifier(e.currentTarget.value)} />
    </${Field}>
    <${Field} id="old-password" label=${t('moveIn.password')} hint=${t('moveIn.passwordHint')}>
      <input id="old-password" type="password" required autocomplete="current-password" aria-describedby="old-password-hint" value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
    </${Field}>
    ${needsCode && html`<${Field} id="old-code" label=${t('moveIn.signinCode')}>
      <input id="old-code" type="text" required autocomplete="one-time-code" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
    </${Field}>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
    <button type="submit" class="button" disabled=${busy}>${busy ? t('moveIn.signingIn') : t('moveIn.signin')}</button>
  </form>`;
}

function CreateHere({ progress, run }) {
  const [server, setServer] = useState(null);
  const [name, setName] = useState((progress.oldHandle || '').split('.')[0]);
  const [domain, setDomain] = useState('');
  const [email, setEmail] = useState(progress.oldEmail || '');
  const [password, setPassword] = useState('');
  const [invite, setInvite] = useState('');
  useEffect(() => {
    query('com.atproto.server.describeServer', {}, { anonymous: true }).then((d) => {
      setServer(d);
      setDomain((d.availableUserDomains || [])[0] || '');
    }, () => setServer({ availableUserDomains: [] }));
  }, []);
  if (!server) return null;
  const domains = server.availableUserDomains || [];
  const submit = (e) => {
    e.preventDefault();
    run('account', (c) => createHere(c, progress, { handle: `${name.trim().toLowerCase()}${domain}`, email: email.trim(), password, inviteCode: invite.trim() }), { newHandle: `${name.trim().toLowerCase()}${domain}`, email: email.trim() });
  };
  return html`<form class="card" onSubmit=${submit}>
    <h2>${t('moveIn.accountTitle', { host: config.hostname })}</h2>
    <p class="muted">${t('moveIn.accountText', { handle: `@${progress.oldHandle}` })}</p>
    <${Field} id="new-handle" label=${t('moveIn.handle')}>
      <div class="handle-input">
        <input id="new-handle" type="text" required autocapitalize="off" spellcheck="false" value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
        ${domains.length > 1
          ? html`<select aria-label=${t('moveIn.domain')} value=${domain} onChange=${(e) => setDomain(e.currentTarget.value)}>${domains.map((d) => html`<option value=${d}>${d}</option>`)}</select>`
          : html`<span class="handle-suffix">${domain}</span>`}
      </div>
    </${Field}>
    <${Field} id="new-email" label=${t('moveIn.email')}>
      <input id="new-email" type="email" required autocomplete="email" value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />
    </${Field}>
    <${Field} id="new-password" label=${t('moveIn.newPassword')} hint=${t('moveIn.newPasswordHint')}>
      <input id="new-password" type="password" required minlength="8" autocomplete="new-password" aria-describedby="new-password-hint" value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
    </${Field}>
    ${server.inviteCodeRequired && html`<${Field} id="new-invite" label=${t('moveIn.invite')}>
      <input id="new-invite" type="text" required autocapitalize="off" spellcheck="false" value=${invite} onInput=${(e) => setInvite(e.currentTarget.value)} />
    </${Field}>`}
    <button type="submit" class="button">${t('moveIn.create')}</button>
  </form>`;
}

function ConfirmIdentity({ progress, run }) {
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const again = async () => {
    try {
      await requestCode(clients(progress, saveProgress));
      setSent(true);
    } catch (err) {
      setSent(false);
    }
  };
  const submit = (e) => {
    e.preventDefault();
    run('plc', (c) => changeIdentity(c, progress, code));
  };
  return html`<form class="card" onSubmit=${submit}>
    <h2>${t('moveIn.plcTitle')}</h2>
    <p>${t('moveIn.plcText', { email: progress.oldEmail || t('moveIn.yourEmail') })}</p>
    <${Field} id="plc-code" label=${t('moveIn.plcCode')}>
      <input id="plc-code" type="text" required autocapitalize="characters" autocomplete="one-time-code" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
    </${Field}>
    <div class="button-row">
      <button type="submit" class="button">${t('moveIn.plcConfirm')}</button>
      <button type="button" class="button secondary" onClick=${again}>${t('moveIn.plcAgain')}</button>
    </div>
    ${sent && html`<p class="muted small" role="status">${t('moveIn.plcSent')}</p>`}
  </form>`;
}

export default function MoveIn() {
  useTitle(t('moveIn.title'));
  const [progress, setProgress] = useState(loadProgress);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [blobs, setBlobs] = useState(null);
  const [finished, setFinished] = useState(false);
  const update = (changes) => {
    const next = { ...(loadProgress() || {}), ...changes };
    saveProgress(next);
    setProgress(next);
    return next;
  };

  /** Runs the automatic steps from `from` on, until one needs the member (or all is done). */
  const drive = async (from) => {
    let current = update({ step: from });
    let next = from;
    for (;;) {
      const c = clients(current, update);
      if (next === 'repo') await copyRepo(c, current);
      else if (next === 'blobs') await copyBlobs(c, current, (done, total) => setBlobs({ done, total }));
      else if (next === 'prefs') await copyPreferences(c, current);
      else if (next === 'plc') {
        if (!(await identityPointsHere(c, current))) {
          if (!current.codeRequested) {
            await requestCode(c);
            update({ codeRequested: true });
          }
          return;
        }
      } else if (next === 'finish') {
        const here = await finish(c);
        clearProgress();
        // The move's password session ends here; the member signs in to the UI with OAuth.
        await endPasswordSession(here.refreshJwt);
        setFinished(here.handle);
        return;
      } else return;
      next = STEPS[STEPS.indexOf(next) + 1];
      current = update({ step: next });
    }
  };

  /** Runs `work` (a step that asked the member something, or nothing), then what follows. */
  const run = async (step, work, extra = {}) => {
    setBusy(true);
    setError(null);
    const current = update({ ...extra, step });
    try {
      if (work) {
        await work(clients(current, update));
        await drive(STEPS[STEPS.indexOf(step) + 1]);
      } else {
        await drive(step);
      }
    } catch (err) {
      setError(err);
      // A session the old server no longer accepts: sign in there again, then go on.
      const now = loadProgress();
      if (now && ['ExpiredToken', 'InvalidToken', 'AuthMissing'].includes(err.error) && now.step !== 'account') update({ resume: now.step, step: 'signin' });
    }
    setBusy(false);
  };

  const onSignedIn = (found) => {
    const resume = progress && progress.resume;
    if (resume) {
      update({ ...found, step: resume, resume: undefined });
      if (AUTOMATIC.includes(resume)) run(resume, null);
    } else update({ ...found, step: 'account' });
  };
  const restart = () => {
    clearProgress();
    setProgress(null);
    setError(null);
  };

  if (finished) {
    return html`<div>
      <${ViewHeader} title=${t('moveIn.title')} />
      <div class="page-body">
        <${Progress} step="done" />
        <section class="card highlight" role="status">
          <h2>${t('moveIn.doneTitle')}</h2>
          <p>${t('moveIn.doneText', { handle: `@${finished}`, host: config.hostname })}</p>
          <button type="button" class="button" onClick=${() => signIn({ loginHint: finished, next: '/' })}>${t('moveIn.home')}</button>
        </section>
      </div>
    </div>`;
  }
  const step = (progress && progress.step) || 'signin';
  const automatic = AUTOMATIC.includes(step);
  return html`<div>
    <${ViewHeader} title=${t('moveIn.title')} />
    <div class="page-body">
      ${!progress && html`<p class="lead">${t('moveIn.lead', { host: config.hostname })}</p>`}
      ${session.value && !progress && html`<p class="hint warn">${t('moveIn.signedIn', { handle: `@${session.value.handle}` })}</p>`}
      <${Progress} step=${step} />
      ${error && html`<div class="error-notice" role="alert"><p>${error.error ? errorText(error) : error.message}</p></div>`}
      ${step === 'signin' && html`<${SignInOld} progress=${progress} onDone=${onSignedIn} />`}
      ${step === 'account' && html`<${CreateHere} progress=${progress} run=${run} />`}
      ${step === 'plc' && html`<${ConfirmIdentity} progress=${progress} run=${run} />`}
      ${automatic && html`<section class="card" aria-live="polite">
        <h2>${t(`moveIn.step.${step}`)}</h2>
        ${step === 'blobs' && blobs && html`<p>${t('moveIn.blobsDone', { done: blobs.done, total: blobs.total })}</p>`}
        ${busy ? html`<p class="muted">${t('moveIn.working')}</p>` : html`<button type="button" class="button" onClick=${() => run(step, null)}>${t('moveIn.continue')}</button>`}
      </section>`}
      ${progress && progress.did && html`<p class="muted small">${t('moveIn.moving', { handle: `@${progress.oldHandle}`, did: progress.did })} <button type="button" class="link-button" onClick=${restart}>${t('moveIn.startOver')}</button></p>`}
    </div>
  </div>`;
}
