// A paper recovery key: made in this browser (WebCrypto P-256, lib/multikey.js; the secret never
// leaves the page), shown once as text and as a printable sheet, then added first among the
// identity's rotation keys by a PLC operation this server signs after the emailed code
// (com.atproto.identity.requestPlcOperationSignature, signPlcOperation, submitPlcOperation). With
// it, `skyhold recover` moves the account even if this server is gone for good.
// Also lists the rotation keys the identity has now (blue.skyhold.identity.getPlcData).

import { html, useState, useEffect } from '../lib/html.js';
import { t, locale } from '../lib/i18n.js';
import { query, procedure } from '../lib/xrpc.js';
import { session } from '../lib/auth.js';
import { config } from '../lib/config.js';
import { toast } from '../lib/state.js';
import { fullTime } from '../lib/time.js';
import { generate, groupForPaper } from '../lib/multikey.js';
import { ViewHeader, Field, Loading, ErrorNotice, errorText, useTitle } from '../components/ui.js';

/** did:plc allows at most five rotation keys. */
const MAX_ROTATION_KEYS = 5;

function Keys({ state }) {
  if (state.error) return html`<${ErrorNotice} error=${state.error} />`;
  if (!state.data) return html`<${Loading} />`;
  const { keys, server } = state.data;
  return html`<ol class="key-list">
    ${keys.map((k, i) => html`<li>
      <span class="mono">${k}</span>
      <span class="muted small">${server.includes(k) ? t('recoveryKey.serverKey') : t('recoveryKey.yourKey')}${i === 0 ? ` · ${t('recoveryKey.first')}` : ''}</span>
    </li>`)}
  </ol>`;
}

/** The sheet to print or copy by hand: who, what, how to use it. */
function Sheet({ secret, didKey }) {
  const s = session.value;
  return html`<section class="print-sheet card" aria-labelledby="sheet-title">
    <h2 id="sheet-title">${t('recoveryKey.sheetTitle', { handle: `@${s.handle}` })}</h2>
    <p class="small">${t('recoveryKey.sheetFor', { did: s.did, date: fullTime(new Date().toISOString(), locale) })}</p>
    <p class="paper-key" aria-label=${t('recoveryKey.secretLabel')}>${groupForPaper(secret)}</p>
    <p class="small">${t('recoveryKey.publicPart')} <span class="mono">${didKey}</span></p>
    <p class="small">${t('recoveryKey.sheetUse')}</p>
    <p class="small"><code class="mono">skyhold recover --did ${s.did} --rotation-key KEY-FILE --pds https://NEW-SERVER --handle … --email … --from BACKUP</code></p>
    <p class="small strong">${t('recoveryKey.sheetWarning')}</p>
  </section>`;
}

export default function RecoveryKey() {
  useTitle(t('recoveryKey.title'));
  const s = session.value;
  const [state, setState] = useState({ data: null, error: null });
  const [step, setStep] = useState('intro'); // intro | show | code | done
  const [key, setKey] = useState(null);
  const [kept, setKept] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const load = () =>
    Promise.all([query('blue.skyhold.identity.getPlcData'), query('com.atproto.identity.getRecommendedDidCredentials')]).then(
      ([data, wanted]) => setState({ data: { keys: data.rotationKeys || [], server: wanted.rotationKeys || [] }, error: null }),
      (e) => setState({ data: null, error: e }),
    );
  useEffect(() => {
    if (s.did.startsWith('did:plc:')) load();
  }, []);
  if (!s.did.startsWith('did:plc:')) {
    return html`<div><${ViewHeader} title=${t('recoveryKey.title')} back /><div class="page-body"><p>${t('recoveryKey.didWeb')}</p></div></div>`;
  }
  const full = state.data && state.data.keys.length >= MAX_ROTATION_KEYS;
  const create = async () => {
    setError('');
    try {
      setKey(await generate());
      setStep('show');
    } catch {
      setError(t('recoveryKey.noCrypto'));
    }
  };
  const requestCode = async () => {
    setBusy(true);
    setError('');
    try {
      await procedure('com.atproto.identity.requestPlcOperationSignature');
      setStep('code');
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  const add = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const current = await query('blue.skyhold.identity.getPlcData');
      const rotationKeys = [key.didKey, ...(current.rotationKeys || []).filter((k) => k !== key.didKey)].slice(0, MAX_ROTATION_KEYS);
      const { operation } = await procedure('com.atproto.identity.signPlcOperation', { token: code.trim(), rotationKeys });
      await procedure('com.atproto.identity.submitPlcOperation', { operation });
      // Shown once: the secret goes from the page now.
      setKey({ didKey: key.didKey, secret: null });
      setStep('done');
      toast(t('recoveryKey.added'));
      load();
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  return html`<div>
    <${ViewHeader} title=${t('recoveryKey.title')} back />
    <div class="page-body">
      <p class="lead">${t('recoveryKey.lead')}</p>
      <section class="card" aria-labelledby="keys-title">
        <h2 id="keys-title">${t('recoveryKey.current')}</h2>
        <p class="muted small">${t('recoveryKey.currentText')}</p>
        <${Keys} state=${state} />
      </section>
      ${step === 'intro' && html`<section class="card" aria-labelledby="make-title">
        <h2 id="make-title">${t('recoveryKey.make')}</h2>
        <p>${t('recoveryKey.makeText')}</p>
        ${full ? html`<p class="hint warn">${t('recoveryKey.full')}</p>` : html`<button type="button" class="button" onClick=${create}>${t('recoveryKey.create')}</button>`}
      </section>`}
      ${step === 'show' && key && html`<div class="recovery-show">
        <p class="hint warn">${t('recoveryKey.onlyOnce')}</p>
        <${Sheet} secret=${key.secret} didKey=${key.didKey} />
        <div class="button-row no-print">
          <button type="button" class="button secondary" onClick=${() => window.print()}>${t('recoveryKey.print')}</button>
          <button type="button" class="button secondary" onClick=${() => navigator.clipboard.writeText(key.secret).then(() => toast(t('recoveryKey.copied')))}>${t('recoveryKey.copy')}</button>
        </div>
        <label class="checkbox no-print"><input type="checkbox" checked=${kept} onChange=${(e) => setKept(e.currentTarget.checked)} /> ${t('recoveryKey.kept')}</label>
        <button type="button" class="button no-print" disabled=${!kept || busy} onClick=${requestCode}>${t('recoveryKey.addToIdentity')}</button>
      </div>`}
      ${step === 'code' && html`<form class="card" onSubmit=${add}>
        <h2>${t('recoveryKey.confirmTitle')}</h2>
        <p>${t('recoveryKey.codeSent', { email: s.email || '' })}</p>
        <${Field} id="plc-code" label=${t('recoveryKey.code')}>
          <input id="plc-code" type="text" required autocomplete="one-time-code" autocapitalize="characters" value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
        </${Field}>
        <button type="submit" class="button" disabled=${busy}>${t('recoveryKey.confirm')}</button>
      </form>`}
      ${step === 'done' && html`<section class="card highlight" role="status">
        <h2>${t('recoveryKey.doneTitle')}</h2>
        <p>${t('recoveryKey.doneText', { key: key.didKey })}</p>
        <p><a href="/settings/backup">${t('recoveryKey.nextBackup')}</a></p>
      </section>`}
      ${error && html`<p class="field-error" role="alert">${error}</p>`}
      <p class="muted small">${t('recoveryKey.serverInfo', { url: config.publicUrl })}</p>
    </div>
  </div>`;
}
