// The console's first page: what needs the admin now (reports waiting, little disk left, no recent
// backup, failing certificates, relays that do not hear about this server, an App View that fell
// behind), then the community and the server at a glance (blue.skyhold.admin.getServerStatus, the
// figures /metrics serves).

import { html } from '../../lib/html.js';
import { t } from '../../lib/i18n.js';
import { query } from '../../lib/xrpc.js';
import { ConsoleFrame, useLoad, LoadState, formatBytes, formatNumber, Figure, When } from '../../components/console.js';

const WEEK_MS = 7 * 24 * 3600_000;
/** Below this share of free disk the console warns. */
const LOW_DISK = 0.1;

/** What the admin should look at, most urgent first. */
export function attention(status, now = Date.now()) {
  const out = [];
  if (status.openReports > 0) out.push({ key: 'console.attention.reports', values: { count: status.openReports }, href: '/console/reports', urgent: true });
  const { diskFreeBytes: free, diskSizeBytes: size } = status.storage;
  if (free != null && size && free / size < LOW_DISK) out.push({ key: 'console.attention.disk', values: { free: formatBytes(free) }, href: '/console/server', urgent: true });
  if (status.tls && status.tls.failing > 0) out.push({ key: 'console.attention.tls', values: { count: status.tls.failing }, href: '/console/server', urgent: true });
  if (status.federation.failingCrawlers > 0) out.push({ key: 'console.attention.crawlers', values: { count: status.federation.failingCrawlers }, href: '/console/network', urgent: true });
  if (!status.lastBackup || now - new Date(status.lastBackup).getTime() > WEEK_MS) out.push({ key: 'console.attention.backup', href: '/console/server' });
  if (status.appview.lag > 100) out.push({ key: 'console.attention.lag', values: { count: status.appview.lag }, href: '/console/network' });
  if (!status.mailConfigured) out.push({ key: 'console.attention.mail', href: '/console/server' });
  return out;
}

function rate(rates, field) {
  const r = rates.last10Minutes || rates.lastMinute;
  return r ? formatNumber(r[field], 1) : '–';
}

function Overview() {
  const load = useLoad(() => query('blue.skyhold.admin.getServerStatus'));
  const s = load.data;
  const waiting = LoadState(load);
  if (waiting) return waiting;
  const todo = attention(s);
  const accounts = s.accounts || {};
  const used = s.storage.diskSizeBytes ? 1 - s.storage.diskFreeBytes / s.storage.diskSizeBytes : null;
  const crawlers = s.federation.subscribers.filter((x) => x.stream === 'pds');
  return html`<div class="console-grid">
    <section class="card span-all" aria-labelledby="attention-title">
      <h2 id="attention-title">${t('console.attention.title')}</h2>
      ${todo.length === 0
        ? html`<p class="ok-line">${t('console.attention.none')}</p>`
        : html`<ul class="attention">${todo.map((item) => html`<li class=${item.urgent ? 'urgent' : ''}><a href=${item.href}>${t(item.key, item.values)}</a></li>`)}</ul>`}
    </section>
    <section class="card" aria-labelledby="members-title">
      <h2 id="members-title">${t('console.members.title')}</h2>
      <dl class="figures">
        <${Figure} label=${t('console.status.active')} value=${formatNumber(accounts.active)} />
        <${Figure} label=${t('console.status.suspended')} value=${formatNumber(accounts.suspended)} />
        <${Figure} label=${t('console.status.takendown')} value=${formatNumber(accounts.takendown)} />
        <${Figure} label=${t('console.status.deactivated')} value=${formatNumber(accounts.deactivated)} />
      </dl>
      <p class="button-row"><a class="button secondary small" href="/console/accounts">${t('console.members.manage')}</a> <a class="button secondary small" href="/console/invites">${t('console.members.invite')}</a></p>
    </section>
    <section class="card" aria-labelledby="storage-title">
      <h2 id="storage-title">${t('console.storage.title')}</h2>
      ${used != null && html`<div class="meter-label"><span>${t('console.storage.disk')}</span><span>${t('console.storage.free', { free: formatBytes(s.storage.diskFreeBytes), size: formatBytes(s.storage.diskSizeBytes) })}</span></div>
      <meter class="meter" min="0" max="1" low="0.75" high="0.9" optimum="0.2" value=${used} aria-label=${t('console.storage.diskUsed')}></meter>`}
      <dl class="figures">
        <${Figure} label=${t('console.storage.database')} value=${formatBytes(s.storage.databaseBytes)} />
        <${Figure} label=${t('console.storage.blobs')} value=${formatBytes(s.storage.blobBytes)} hint=${t('console.storage.files', { count: s.storage.blobFiles })} />
      </dl>
      <p class="small">${t('console.storage.lastBackup')} <${When} date=${s.lastBackup} /></p>
    </section>
    <section class="card" aria-labelledby="federation-title">
      <h2 id="federation-title">${t('console.federation.title')}</h2>
      <p>${crawlers.length ? t('console.federation.crawled', { count: crawlers.length }) : t('console.federation.notCrawled')}</p>
      <dl class="figures">
        <${Figure} label=${t('console.federation.events')} value=${rate(s.federation.rates, 'pdsEvents')} />
        <${Figure} label=${t('console.federation.writes')} value=${rate(s.federation.rates, 'writes')} />
        <${Figure} label=${t('console.federation.requests')} value=${rate(s.federation.rates, 'requests')} />
      </dl>
      <p class="muted small">${t('console.federation.perMinute')}</p>
      <p><a href="/console/network">${t('console.federation.details')}</a></p>
    </section>
    <section class="card" aria-labelledby="services-title">
      <h2 id="services-title">${t('console.services.title')}</h2>
      <dl class="figures">
        <${Figure} label=${t('console.services.relayHosts')} value=${s.relay.enabled ? formatNumber(s.relay.hosts) : t('console.services.relayOff')} />
        <${Figure} label=${t('console.services.appviewLag')} value=${t('console.services.events', { count: s.appview.lag })} />
        <${Figure} label=${t('console.services.tls')} value=${s.tls.mode === 'off' ? t('console.services.tlsOff') : s.tls.nextExpiry ? html`<${When} date=${s.tls.nextExpiry} />` : '–'} />
      </dl>
    </section>
    <section class="card" aria-labelledby="about-server-title">
      <h2 id="about-server-title">${t('console.about.title')}</h2>
      <dl class="figures">
        <${Figure} label=${t('console.about.version')} value=${s.version} />
        <${Figure} label=${t('console.about.uptime')} value=${t('console.about.hours', { count: Math.floor(s.uptimeSeconds / 3600) })} />
        <${Figure} label=${t('console.about.invites')} value=${s.inviteRequired ? t('console.about.invitesRequired') : t('console.about.invitesOpen')} />
      </dl>
      <p class="muted small">${s.publicUrl}</p>
    </section>
  </div>`;
}

export default function ConsoleOverview() {
  return html`<${ConsoleFrame} title=${t('console.title')}><${Overview} /></${ConsoleFrame}>`;
}
