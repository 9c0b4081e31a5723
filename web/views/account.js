// Account settings: email (confirm, change), password, handle, export of the repository as a CAR
// file (com.atproto.sync.getRepo), deactivation and reactivation, and deletion. Each step is a
// plain XRPC call of com.atproto.server.* or com.atproto.identity.updateHandle; codes arrive by
// email (or, on a server without mail, from its admin).

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { xrpc, query, procedure } from '../lib/xrpc.js';
import { session, reloadSession, dropSession } from '../lib/auth.js';
import { navigate } from '../lib/router.js';
import { openDialog, toast, me } from '../lib/state.js';
import { ViewHeader, Field, errorText, useTitle } from '../components/ui.js';
import { ConfirmDialog } from '../components/dialog.js';

function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = async (fn) => {
    setBusy(true);
    setError('');
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  return { busy, error, run, setError };
}

function Section({ id, title, children }) {
  return html`<section class="card" id=${id} aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>${title}</h2>
    ${children}
  </section>`;
}

function Email() {
  const s = session.value;
  const [step, setStep] = useState('idle'); // idle | confirm | change
  const [code, setCode] = useState('');
  const [newEmail, setNewEmail] = useState('');
  const [tokenRequired, setTokenRequired] = useState(false);
  const { busy, error, run } = useAction();
  const sendConfirm = () => run(async () => {
    await procedure('com.atproto.server.requestEmailConfirmation');
    setStep('confirm');
  });
  const confirm = (e) => {
    e.preventDefault();
    run(async () => {
      await procedure('com.atproto.server.confirmEmail', { email: s.email, token: code.trim() });
      await reloadSession();
      setStep('idle');
      setCode('');
      toast(t('account.emailConfirmed'));
    });
  };
  const startChange = () => run(async () => {
    const r = await procedure('com.atproto.server.requestEmailUpdate');
    setTokenRequired(!!r.tokenRequired);
    setStep('change');
  });
  const change = (e) => {
    e.preventDefault();
    run(async () => {
      await procedure('com.atproto.server.updateEmail', { email: newEmail.trim(), token: tokenRequired ? code.trim() : undefined });
      await reloadSession();
      setStep('idle');
      setCode('');
      setNewEmail('');
      toast(t('account.emailChanged'));
    });
  };
  return html`<${Section} id="email" title=${t('account.email')}>
    <p>${s.email || t('account.noEmail')} ${s.email && html`<span class=${s.emailConfirmed ? 'pill ok' : 'pill warn'}>${s.emailConfirmed ? t('account.confirmed') : t('account.unconfirmed')}</span>`}</p>
    ${step === 'idle' && html`<div class="button-row">
      ${s.email && !s.emailConfirmed && html`<button type="button" class="button" disabled=${busy} onClick=${sendConfirm}>${t('account.sendConfirmation')}</button>`}
      <button type="button" class="button secondary" disabled=${busy} onClick=${startChange}>${t('account.changeEmail')}</button>
    </div>`}
    ${step === 'confirm' && html`<form onSubmit=${confirm}>
      <p class="muted">${t('account.codeSent', { email: s.email })}</p>
      <${Field} id="email-confirm-code" label=${t('account.code')}>
        <input id="email-confirm-code" type="text" required autocomplete="one-time-code" autocapitalize="off" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
      </${Field}>
      <div class="button-row">
        <button type="submit" class="button" disabled=${busy}>${t('account.confirm')}</button>
        <button type="button" class="button secondary" onClick=${() => setStep('idle')}>${t('common.cancel')}</button>
      </div>
    </form>`}
    ${step === 'change' && html`<form onSubmit=${change}>
      ${tokenRequired && html`<p class="muted">${t('account.codeSent', { email: s.email })}</p>
      <${Field} id="email-change-code" label=${t('account.code')}>
        <input id="email-change-code" type="text" required autocomplete="one-time-code" autocapitalize="off" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
      </${Field}>`}
      <${Field} id="email-new" label=${t('account.newEmail')}>
        <input id="email-new" type="email" required autocomplete="email" value=${newEmail} onInput=${(e) => setNewEmail(e.currentTarget.value)} />
      </${Field}>
      <div class="button-row">
        <button type="submit" class="button" disabled=${busy}>${t('account.saveEmail')}</button>
        <button type="button" class="button secondary" onClick=${() => setStep('idle')}>${t('common.cancel')}</button>
      </div>
    </form>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </${Section}>`;
}

function Password() {
  return html`<${Section} id="password" title=${t('account.password')}>
    <p class="muted">${t('account.passwordText')}</p>
    <a class="button secondary" href="/reset-password">${t('account.changePassword')}</a>
  </${Section}>`;
}

function Handle() {
  const s = session.value;
  const [domains, setDomains] = useState([]);
  const [value, setValue] = useState('');
  const { busy, error, run } = useAction();
  useEffect(() => {
    query('com.atproto.server.describeServer', {}, { anonymous: true }).then((d) => setDomains(d.availableUserDomains || []), () => {});
  }, []);
  const full = value.includes('.') ? value.trim().toLowerCase() : `${value.trim().toLowerCase()}${domains[0] || ''}`;
  const submit = (e) => {
    e.preventDefault();
    run(async () => {
      await procedure('com.atproto.identity.updateHandle', { handle: full });
      await reloadSession();
      if (me.value) me.value = { ...me.value, handle: full };
      setValue('');
      toast(t('account.handleChanged', { handle: full }));
    });
  };
  return html`<${Section} id="handle" title=${t('account.handle')}>
    <p>${t('account.currentHandle', { handle: `@${s.handle}` })}</p>
    <form onSubmit=${submit}>
      <${Field} id="handle-new" label=${t('account.newHandle')} hint=${t('account.handleHint', { domain: domains[0] || '' })}>
        <input id="handle-new" type="text" required autocapitalize="off" spellcheck="false" aria-describedby="handle-new-hint" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      </${Field}>
      ${value.trim() && html`<p class="muted small">${t('account.handlePreview', { handle: `@${full}` })}</p>`}
      <button type="submit" class="button" disabled=${busy || !value.trim()}>${t('account.saveHandle')}</button>
    </form>
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </${Section}>`;
}

function Export() {
  const s = session.value;
  const [link, setLink] = useState(null);
  const { busy, error, run } = useAction();
  const download = () => run(async () => {
    const response = await xrpc('com.atproto.sync.getRepo', { params: { did: s.did }, raw: true });
    const blob = await response.blob();
    const name = `${s.handle}-${new Date().toISOString().slice(0, 10)}.car`;
    const url = URL.createObjectURL(blob);
    setLink({ url, name, size: blob.size });
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  });
  return html`<${Section} id="export" title=${t('account.export')}>
    <p class="muted">${t('account.exportText')}</p>
    <button type="button" class="button secondary" disabled=${busy} onClick=${download}>${busy ? t('account.exporting') : t('account.exportButton')}</button>
    ${link && html`<p class="small">${t('account.exportReady', { size: Math.ceil(link.size / 1024) })} <a href=${link.url} download=${link.name}>${link.name}</a></p>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </${Section}>`;
}

function Deactivate() {
  const s = session.value;
  const { busy, error, run } = useAction();
  const deactivated = s.active === false && s.status === 'deactivated';
  const deactivate = async () => {
    const yes = await openDialog(ConfirmDialog, { title: t('account.deactivateTitle'), message: t('account.deactivateExplain'), confirmLabel: t('account.deactivate'), danger: true });
    if (!yes) return;
    run(async () => {
      await procedure('com.atproto.server.deactivateAccount', {});
      // Deactivating ends every app's session on the server, this page's too (docs/OAUTH.md):
      // signing in again shows the account as deactivated, with the way back.
      dropSession();
      toast(t('account.deactivated'));
      navigate(`/signin?handle=${encodeURIComponent(s.handle)}&next=${encodeURIComponent('/settings/account')}`, { replace: true });
    });
  };
  const reactivate = () => run(async () => {
    await procedure('com.atproto.server.activateAccount');
    await reloadSession();
    toast(t('account.reactivated'));
  });
  return html`<${Section} id="deactivate" title=${deactivated ? t('account.reactivateTitle') : t('account.deactivateTitle')}>
    <p class="muted">${deactivated ? t('account.reactivateText') : t('account.deactivateText')}</p>
    ${deactivated
      ? html`<button type="button" class="button" disabled=${busy} onClick=${reactivate}>${t('account.reactivate')}</button>`
      : html`<button type="button" class="button secondary danger-text" disabled=${busy} onClick=${deactivate}>${t('account.deactivate')}</button>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </${Section}>`;
}

function Delete() {
  const s = session.value;
  const [step, setStep] = useState('idle');
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  const request = () => run(async () => {
    await procedure('com.atproto.server.requestAccountDelete');
    setStep('code');
  });
  const remove = async (e) => {
    e.preventDefault();
    const yes = await openDialog(ConfirmDialog, { title: t('account.deleteTitle'), message: t('account.deleteFinal', { handle: s.handle }), confirmLabel: t('account.deleteForever'), danger: true });
    if (!yes) return;
    run(async () => {
      await procedure('com.atproto.server.deleteAccount', { did: s.did, password, token: code.trim() }, { anonymous: true });
      dropSession();
      toast(t('account.deletedToast'));
      navigate('/', { replace: true });
    });
  };
  return html`<${Section} id="delete" title=${t('account.deleteTitle')}>
    <p class="muted">${t('account.deleteText')}</p>
    ${step === 'idle'
      ? html`<button type="button" class="button danger" disabled=${busy} onClick=${request}>${t('account.deleteStart')}</button>`
      : html`<form onSubmit=${remove}>
          <p class="muted">${t('account.codeSent', { email: s.email || '' })}</p>
          <${Field} id="delete-code" label=${t('account.code')}>
            <input id="delete-code" type="text" required autocomplete="one-time-code" autocapitalize="off" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
          </${Field}>
          <${Field} id="delete-password" label=${t('account.passwordConfirm')}>
            <input id="delete-password" type="password" required autocomplete="current-password" value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
          </${Field}>
          <div class="button-row">
            <button type="submit" class="button danger" disabled=${busy}>${t('account.deleteForever')}</button>
            <button type="button" class="button secondary" onClick=${() => setStep('idle')}>${t('common.cancel')}</button>
          </div>
        </form>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </${Section}>`;
}

export default function Account() {
  useTitle(t('account.title'));
  useEffect(() => {
    reloadSession().catch(() => {});
  }, []);
  return html`<div>
    <${ViewHeader} title=${t('account.title')} back />
    <div class="page-body">
      <${Email} />
      <${Password} />
      <${Handle} />
      <${Export} />
      <${Deactivate} />
      <${Delete} />
    </div>
  </div>`;
}
