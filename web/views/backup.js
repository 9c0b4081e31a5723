// Backups the member holds: the whole account (repository and every image) downloaded as one
// archive built in the browser (com.atproto.sync.getLatestCommit, getRepo, listBlobs, getBlob;
// lib/tar.js), and how to keep an up-to-date, verified copy on a computer with `skyhold mirror`.
// Both are what `skyhold recover --from` restores on another server.

import { html, useState } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { query, xrpc } from '../lib/xrpc.js';
import { session } from '../lib/auth.js';
import { config } from '../lib/config.js';
import { tarParts } from '../lib/tar.js';
import { ViewHeader, errorText, useTitle } from '../components/ui.js';

/** Every blob CID the account's records use. */
async function blobCids(did) {
  const out = [];
  let cursor;
  for (;;) {
    const page = await query('com.atproto.sync.listBlobs', { did, limit: 1000, cursor });
    const cids = page.cids || [];
    out.push(...cids);
    if (!page.cursor || cids.length === 0) return out;
    cursor = page.cursor;
  }
}

/** The archive as a Blob; `onProgress(done, total)` counts files. */
export async function buildArchive(did, handle, onProgress) {
  const head = await query('com.atproto.sync.getLatestCommit', { did });
  const car = await (await xrpc('com.atproto.sync.getRepo', { params: { did }, raw: true })).blob();
  const cids = await blobCids(did);
  const files = [{ name: 'repo.car', data: car }];
  onProgress(1, cids.length + 1);
  for (const [i, cid] of cids.entries()) {
    const blob = await (await xrpc('com.atproto.sync.getBlob', { params: { did, cid }, raw: true })).blob();
    files.push({ name: `blobs/${cid}`, data: blob });
    onProgress(i + 2, cids.length + 1);
  }
  const state = { did, handle, rev: head.rev, commit: head.cid, updatedAt: new Date().toISOString(), blobs: cids.length, source: config.publicUrl };
  files.push({ name: 'mirror.json', data: new TextEncoder().encode(JSON.stringify(state, null, 2)) });
  return new Blob(tarParts(files), { type: 'application/x-tar' });
}

function formatSize(bytes) {
  return new Intl.NumberFormat('en', { style: 'unit', unit: 'megabyte', maximumFractionDigits: 1 }).format(bytes / 1e6);
}

export default function Backup() {
  useTitle(t('backup.title'));
  const s = session.value;
  const [progress, setProgress] = useState(null);
  const [link, setLink] = useState(null);
  const [error, setError] = useState('');
  const download = async () => {
    setError('');
    setLink(null);
    setProgress({ done: 0, total: 1 });
    try {
      const archive = await buildArchive(s.did, s.handle, (done, total) => setProgress({ done, total }));
      const name = `${s.handle}-${new Date().toISOString().slice(0, 10)}.tar`;
      const url = URL.createObjectURL(archive);
      setLink({ url, name, size: archive.size });
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (err) {
      setError(errorText(err));
    }
    setProgress(null);
  };
  const local = config.publicUrl.startsWith('http://');
  const mirror = `skyhold mirror --account ${s.handle} --dir ~/skyhold-backup${local ? ` --pds ${config.publicUrl}` : ''}`;
  return html`<div>
    <${ViewHeader} title=${t('backup.title')} back />
    <div class="page-body">
      <p class="lead">${t('backup.lead')}</p>
      <section class="card" aria-labelledby="download-title">
        <h2 id="download-title">${t('backup.downloadTitle')}</h2>
        <p class="muted">${t('backup.downloadText')}</p>
        <button type="button" class="button" disabled=${!!progress} onClick=${download}>${progress ? t('backup.working') : t('backup.download')}</button>
        ${progress && html`<progress max=${progress.total} value=${progress.done} aria-label=${t('backup.progress', { done: progress.done, total: progress.total })}></progress>`}
        ${link && html`<p class="small" role="status">${t('backup.ready', { size: formatSize(link.size) })} <a href=${link.url} download=${link.name}>${link.name}</a></p>`}
        ${error && html`<p class="field-error" role="alert">${error}</p>`}
      </section>
      <section class="card" aria-labelledby="mirror-title">
        <h2 id="mirror-title">${t('backup.mirrorTitle')}</h2>
        <p class="muted">${t('backup.mirrorText')}</p>
        <p><code class="command-line">${mirror}</code></p>
        <p class="muted small">${t('backup.mirrorAgain')}</p>
      </section>
      <section class="card" aria-labelledby="restore-title">
        <h2 id="restore-title">${t('backup.restoreTitle')}</h2>
        <p class="muted">${t('backup.restoreText')}</p>
        <p><code class="command-line">skyhold recover --from ~/skyhold-backup --rotation-key paper-key.txt --pds https://NEW-SERVER --handle … --email …</code></p>
        <p><a href="/settings/recovery-key">${t('backup.needKey')}</a></p>
      </section>
    </div>
  </div>`;
}
