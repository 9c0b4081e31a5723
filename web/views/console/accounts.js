// Accounts hosted here: search by handle, email or DID, filter by state
// (blue.skyhold.admin.listAccounts), each leading to its page.

import { html, useState } from '../../lib/html.js';
import { t, locale } from '../../lib/i18n.js';
import { query } from '../../lib/xrpc.js';
import { navigate } from '../../lib/router.js';
import { fullTime } from '../../lib/time.js';
import { Empty } from '../../components/ui.js';
import { ConsoleFrame, useLoad, LoadState, StatusPill } from '../../components/console.js';

const STATES = ['all', 'active', 'suspended', 'takendown', 'deactivated'];

function Results({ q, status }) {
  const [more, setMore] = useState([]);
  const [cursor, setCursor] = useState(null);
  const load = useLoad(async () => {
    const page = await query('blue.skyhold.admin.listAccounts', { q, status, limit: 50 });
    setMore([]);
    setCursor(page.cursor || null);
    return page.accounts || [];
  }, [q, status]);
  const next = async () => {
    const page = await query('blue.skyhold.admin.listAccounts', { q, status, limit: 50, cursor });
    setMore([...more, ...(page.accounts || [])]);
    setCursor(page.cursor || null);
  };
  const waiting = LoadState(load);
  if (waiting) return waiting;
  const accounts = [...load.data, ...more];
  if (accounts.length === 0) return html`<${Empty} title=${t('console.accounts.none')} />`;
  return html`<div>
    <ul class="plain-list account-list" aria-label=${t('console.accounts.listLabel')}>
      ${accounts.map((a) => html`<li key=${a.did}><a class="account-row" href=${`/console/accounts/${encodeURIComponent(a.did)}`}>
        <span class="account-main"><span class="strong">@${a.handle}</span><span class="muted small">${a.email || t('console.accounts.noEmail')}</span></span>
        <span class="account-meta">
          ${a.admin && html`<span class="pill">${t('console.accounts.admin')}</span>`}
          <${StatusPill} status=${a.status} />
          <span class="muted small">${t('console.accounts.joined', { date: fullTime(a.createdAt, locale) })}</span>
        </span>
      </a></li>`)}
    </ul>
    ${cursor && html`<div class="list-end"><button type="button" class="button secondary" onClick=${next}>${t('feed.loadMore')}</button></div>`}
  </div>`;
}

export default function ConsoleAccounts({ query: search }) {
  const q = search.get('q') || '';
  const status = search.get('status') || 'all';
  const [text, setText] = useState(q);
  const go = (next) => {
    const params = new URLSearchParams();
    if (next.q) params.set('q', next.q);
    if (next.status && next.status !== 'all') params.set('status', next.status);
    const qs = params.toString();
    navigate(`/console/accounts${qs ? `?${qs}` : ''}`, { replace: true });
  };
  return html`<${ConsoleFrame} title=${t('console.nav.accounts')}>
    <form class="toolbar" role="search" onSubmit=${(e) => {
      e.preventDefault();
      go({ q: text.trim(), status });
    }}>
      <div class="field grow">
        <label for="account-search">${t('console.accounts.search')}</label>
        <input id="account-search" type="search" autocapitalize="off" spellcheck="false" placeholder=${t('console.accounts.searchPlaceholder')} value=${text} onInput=${(e) => setText(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="account-state">${t('console.accounts.state')}</label>
        <select id="account-state" value=${status} onChange=${(e) => go({ q: text.trim(), status: e.currentTarget.value })}>
          ${STATES.map((s) => html`<option value=${s}>${s === 'all' ? t('console.accounts.allStates') : t(`console.status.${s}`)}</option>`)}
        </select>
      </div>
      <button type="submit" class="button">${t('console.accounts.find')}</button>
    </form>
    <${Results} q=${q} status=${status === 'all' ? undefined : status} />
  </${ConsoleFrame}>`;
}
