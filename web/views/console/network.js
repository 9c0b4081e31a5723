// Federation: who follows this node's firehose (a relay crawling it shows up here), how many
// events and writes a minute, how far the App View is behind; the relays this node tells about
// itself (--crawlers: when each was last asked, what it answered, when it is asked next) and
// asking any relay to crawl it; and the mini relay's hosts with their state, adding and banning
// them (blue.skyhold.admin.getServerStatus / listCrawlers / requestCrawl / listHosts / addHost /
// banHost / unbanHost).

import { html, useState } from '../../lib/html.js';
import { config } from '../../lib/config.js';
import { t, locale } from '../../lib/i18n.js';
import { fullTime } from '../../lib/time.js';
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

function Crawl({ onAsked }) {
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
      // The relay failed, not this server: its own words say how ("did not answer: …").
      setError(err.error === 'UpstreamFailure' && err.message ? err.message : errorText(err));
    }
    setBusy(false);
    // A configured crawler's status counts the request, answered or not.
    onAsked();
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
    <h3>${t('console.network.activity')}</h3>
    <${RatesTable} rates=${s.federation.rates} />
    <dl class="figures">
      <${Figure} label=${t('console.network.seq')} value=${formatNumber(s.federation.pdsSeq)} />
      <${Figure} label=${t('console.services.appviewLag')} value=${t('console.services.events', { count: s.appview.lag })} />
      <${Figure} label=${t('console.network.subscriptions')} value=${formatNumber(s.federation.subscriptionsSinceStart)} />
    </dl>
  </section>`;
}

/** A time to come, in words: "in 40 seconds", "in 12 minutes", "in 3 hours". */
function upcoming(date) {
  const seconds = Math.round((new Date(date).getTime() - Date.now()) / 1000);
  const words = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  if (seconds < 5) return t('console.network.inMoment');
  if (seconds < 90) return words.format(seconds, 'second');
  if (seconds < 90 * 60) return words.format(Math.round(seconds / 60), 'minute');
  return words.format(Math.round(seconds / 3600), 'hour');
}

/** `say(when)` for a time to come, with the full time as a tooltip. */
function Upcoming({ date, say }) {
  return html`<time datetime=${date} title=${fullTime(date, locale)}>${say(upcoming(date))}</time>`;
}

/** What a crawler said the last time it was asked. */
function Answer({ crawler: c }) {
  if (!c.lastAttemptAt) return html`<span>${t('console.network.notContacted')}</span>`;
  const answer = c.status == null ? t('console.network.noAnswer', { error: c.error || '' }) : c.error ? t('console.network.refused', { status: c.status, error: c.error }) : t('console.network.answered', { status: c.status });
  return html`<span>${t('console.network.lastContact')} <${When} date=${c.lastAttemptAt} />: ${answer}</span>`;
}

/** When a crawler is asked next. */
function Next({ crawler: c }) {
  if (c.inFlight) return t('console.network.askingNow');
  if (c.nextAttemptAt) return html`<${Upcoming} date=${c.nextAttemptAt} say=${(when) => t('console.network.nextAttempt', { when })} />`;
  if (c.notBefore && new Date(c.notBefore).getTime() > Date.now()) return html`<${Upcoming} date=${c.notBefore} say=${(when) => t('console.network.afterNewsNotBefore', { when })} />`;
  return t('console.network.afterNews');
}

function Crawlers() {
  const load = useLoad(() => query('blue.skyhold.admin.listCrawlers'));
  const waiting = LoadState(load);
  if (waiting) return waiting;
  const { crawlers } = load.data;
  const pill = {
    ok: html`<span class="pill ok">${t('console.network.told')}</span>`,
    failing: html`<span class="pill warn">${t('console.network.failing')}</span>`,
    pending: html`<span class="pill">${t('console.network.notAsked')}</span>`,
  };
  return html`<section class="card span-all" aria-labelledby="tell-title">
    <h2 id="tell-title">${t('console.network.tellTitle')}</h2>
    <p class="muted small">${crawlers.length ? t('console.network.tellExplain') : t('console.network.tellNone')}</p>
    ${crawlers.length > 0 && html`<ul class="plain-list" aria-labelledby="tell-title">${crawlers.map((c) => html`<li class="list-row crawler-row">
      <span class="crawler-main">
        <span class="crawler-name"><span class="strong mono">${c.url.replace(/^https:\/\//, '')}</span> ${pill[c.state] || pill.pending}</span>
        <span class="small"><${Answer} crawler=${c} />${c.failures > 1 ? html` <span class="muted">(${t('console.network.failures', { count: c.failures })})</span>` : ''}</span>
        <span class="small muted"><${Next} crawler=${c} /></span>
      </span>
    </li>`)}</ul>`}
    <h3>${t('console.network.askTitle')}</h3>
    <p class="muted small">${t('console.network.crawlExplain')}</p>
    <${Crawl} onAsked=${load.reload} />
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
    <div class="console-grid"><${Federation} /><${Crawlers} /><${Hosts} /></div>
  </${ConsoleFrame}>`;
}
