// Federation: who follows this node's firehose (a relay crawling it shows up here), how many
// events and writes a minute, how far the App View is behind, asking a relay to crawl this node;
// and the mini relay's hosts with their state, adding and banning them
// (blue.skyhold.admin.getServerStatus / listHosts / addHost / banHost / unbanHost / requestCrawl).

import { html, useState } from '../../lib/html.js';
import { config } from '../../lib/config.js';
import { t } from '../../lib/i18n.js';
import { query, procedure } from '../../lib/xrpc.js';
import { openDialog, toast } from '../../lib/state.js';
import { ConfirmDialog } from '../../components/dialog.js';
import { Empty, errorText } from '../../components/ui.js';
import { ConsoleFrame, useLoad, LoadState, formatNumber, Figure, When } from '../../components/console.js';

/** Host states the relay uses (the lexicon's hostStatus values, and banned). */
const HOST_STATES = ['active', 'idle', 'offline', 'throttled', 'banned'];

function hostState(status) {
  return HOST_STATES.includes(status) ? t(`console.network.status.${status}`) : status;
}

function RatesTable({ rates }) {
  const rows = [
    ['lastMinute', t('console.network.lastMinute')],
    ['last10Minutes', t('console.network.last10')],
    ['lastHour', t('console.network.lastHour')],
  ];
  const cell = (r, field) => (r ? formatNumber(r[field], 1) : '–');
  return html`<table class="table">
    <caption class="visually-hidden">${t('console.network.ratesCaption')}</caption>
    <thead><tr><th scope="col">${t('console.network.window')}</th><th scope="col">${t('console.federation.events')}</th><th scope="col">${t('console.federation.writes')}</th><th scope="col">${t('console.federation.requests')}</th><th scope="col">${t('console.network.errors')}</th></tr></thead>
    <tbody>${rows.map(([key, label]) => html`<tr><th scope="row">${label}</th><td>${cell(rates[key], 'pdsEvents')}</td><td>${cell(rates[key], 'writes')}</td><td>${cell(rates[key], 'requests')}</td><td>${cell(rates[key], 'serverErrors')}</td></tr>`)}</tbody>
  </table>`;
}

function Crawl() {
  const [relay, setRelay] = useState('bsky.network');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await procedure('blue.skyhold.admin.requestCrawl', { relay: relay.trim() });
      toast(t('console.network.crawlAsked', { relay: relay.trim() }));
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  return html`<form class="inline-fields" onSubmit=${submit}>
    <div class="field grow">
      <label for="crawl-relay">${t('console.network.relay')}</label>
      <input id="crawl-relay" type="text" required autocapitalize="off" spellcheck="false" value=${relay} onInput=${(e) => setRelay(e.currentTarget.value)} />
    </div>
    <button type="submit" class="button secondary" disabled=${busy}>${t('console.network.askCrawl')}</button>
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </form>`;
}

function Federation() {
  const load = useLoad(() => query('blue.skyhold.admin.getServerStatus'));
  const waiting = LoadState(load);
  if (waiting) return waiting;
  const s = load.data;
  const subscribers = s.federation.subscribers;
  return html`<section class="card span-all" aria-labelledby="crawlers-title">
    <h2 id="crawlers-title">${t('console.network.crawlers')}</h2>
    ${subscribers.length === 0
      ? html`<p>${t('console.network.noCrawlers')}</p>`
      : html`<ul class="plain-list">${subscribers.map((x) => html`<li class="list-row">
          <span><span class="strong">${x.peer}</span> <span class="muted small">${x.userAgent || ''}</span><br /><span class="small">${x.stream === 'pds' ? t('console.network.followsPds') : t('console.network.followsRelay')}</span></span>
          <span class="small">${t('console.network.since')} <${When} date=${x.since} /></span>
        </li>`)}</ul>`}
    <p class="muted small">${t('console.network.crawlExplain')}</p>
    <${Crawl} />
    <h3>${t('console.network.activity')}</h3>
    <${RatesTable} rates=${s.federation.rates} />
    <dl class="figures">
      <${Figure} label=${t('console.network.seq')} value=${formatNumber(s.federation.pdsSeq)} />
      <${Figure} label=${t('console.services.appviewLag')} value=${t('console.services.events', { count: s.appview.lag })} />
      <${Figure} label=${t('console.network.subscriptions')} value=${formatNumber(s.federation.subscriptionsSinceStart)} />
    </dl>
  </section>`;
}

function Hosts() {
  const [hostname, setHostname] = useState('');
  const [busy, setBusy] = useState(false);
  const load = useLoad(() => query('blue.skyhold.admin.listHosts'));
  const act = async (method, host, done) => {
    setBusy(true);
    try {
      await procedure(method, { hostname: host });
      toast(done);
      load.reload();
      return true;
    } catch (err) {
      toast(errorText(err), { kind: 'error' });
      return false;
    } finally {
      setBusy(false);
    }
  };
  const add = async (e) => {
    e.preventDefault();
    if (await act('blue.skyhold.admin.addHost', hostname.trim(), t('console.network.added', { host: hostname.trim() }))) setHostname('');
  };
  const ban = async (host) => {
    const yes = await openDialog(ConfirmDialog, { title: t('console.network.banTitle', { host }), message: t('console.network.banExplain'), confirmLabel: t('console.network.ban'), danger: true });
    if (yes) act('blue.skyhold.admin.banHost', host, t('console.network.banned', { host }));
  };
  const waiting = LoadState(load);
  if (waiting) return waiting;
  const { relay, hosts, dropped } = load.data;
  if (!relay) return html`<section class="card span-all"><h2>${t('console.network.hosts')}</h2><p>${t('console.network.relayOff')}</p></section>`;
  const drops = Object.entries(dropped || {});
  return html`<section class="card span-all" aria-labelledby="hosts-title">
    <h2 id="hosts-title">${t('console.network.hosts')}</h2>
    <p class="muted small">${t('console.network.hostsExplain')}</p>
    <form class="inline-fields" onSubmit=${add}>
      <div class="field grow">
        <label for="host-name">${t('console.network.hostName')}</label>
        <input id="host-name" type="text" required autocapitalize="off" spellcheck="false" placeholder="pds.example.com" value=${hostname} onInput=${(e) => setHostname(e.currentTarget.value)} />
      </div>
      <button type="submit" class="button" disabled=${busy}>${t('console.network.follow')}</button>
    </form>
    ${hosts.length === 0
      ? html`<${Empty} title=${t('console.network.noHosts')} />`
      : html`<div class="table-wrap"><table class="table">
          <caption class="visually-hidden">${t('console.network.hosts')}</caption>
          <thead><tr><th scope="col">${t('console.network.host')}</th><th scope="col">${t('console.network.state')}</th><th scope="col">${t('console.network.accounts')}</th><th scope="col">${t('console.network.cursor')}</th><th scope="col"><span class="visually-hidden">${t('console.network.actions')}</span></th></tr></thead>
          <tbody>${hosts.map((h) => html`<tr>
            <th scope="row" class="mono">${h.hostname}</th>
            <td><span class=${h.status === 'active' ? 'pill ok' : 'pill warn'}>${hostState(h.status)}</span></td>
            <td>${formatNumber(h.accountCount)}</td>
            <td>${formatNumber(h.seq)}</td>
            <td>${h.hostname === config.hostname
              ? html`<span class="muted small">${t('console.network.thisServer')}</span>`
              : h.status === 'banned'
              ? html`<button type="button" class="button secondary small" disabled=${busy} onClick=${() => act('blue.skyhold.admin.unbanHost', h.hostname, t('console.network.unbanned', { host: h.hostname }))}>${t('console.network.unban')}</button>`
              : html`<button type="button" class="button secondary small danger-text" aria-label=${t('console.network.banHost', { host: h.hostname })} disabled=${busy} onClick=${() => ban(h.hostname)}>${t('console.network.ban')}</button>`}</td>
          </tr>`)}</tbody>
        </table></div>`}
    ${drops.length > 0 && html`<p class="small">${t('console.network.dropped')} ${drops.map(([reason, n]) => `${reason.replace(/_/g, ' ')}: ${formatNumber(n)}`).join(' · ')}</p>`}
  </section>`;
}

export default function ConsoleNetwork() {
  return html`<${ConsoleFrame} title=${t('console.nav.network')}>
    <div class="console-grid"><${Federation} /><${Hosts} /></div>
  </${ConsoleFrame}>`;
}
