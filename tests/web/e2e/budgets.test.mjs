// Size budgets of the web UI (issue 13): a first load of at most 80 KB compressed (HTML, JS,
// CSS and the message catalog, as transferred), and all of web/ at most 400 KB gzipped.
// Sizes are deterministic, so they are asserted; render times are measured in
// tests/web/perf/timeline.mjs (figures in docs/PERFORMANCE.md), not asserted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';
import { startNode } from '../support/server.mjs';
import { launch, newPage, PHONE } from '../support/browser.mjs';
import { createAccount, signInWithForm } from '../support/members.mjs';

const FIRST_LOAD_BUDGET = 80 * 1024;
const WEB_BUDGET = 400 * 1024;
const web = fileURLToPath(new URL('../../../web/', import.meta.url));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

test('all of web/ fits in 400 KB gzipped', (t) => {
  let raw = 0;
  let gzipped = 0;
  for (const file of files(web)) {
    const data = readFileSync(file);
    raw += data.length;
    gzipped += gzipSync(data, { level: constants.Z_BEST_COMPRESSION }).length;
  }
  t.diagnostic(`web/: ${(raw / 1024).toFixed(1)} KB raw, ${(gzipped / 1024).toFixed(1)} KB gzipped`);
  assert.ok(gzipped <= WEB_BUDGET, `web/ is ${gzipped} bytes gzipped`);
});

/** Bytes transferred for the page itself (document, scripts, styles, catalog), not API calls or images. */
async function firstLoad(page, path) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const urls = new Map();
  let bytes = 0;
  const counted = [];
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, { url: e.request.url, type: e.type }));
  cdp.on('Network.loadingFinished', (e) => {
    const request = urls.get(e.requestId);
    if (!request) return;
    const url = new URL(request.url);
    if (url.pathname.startsWith('/xrpc/') || request.type === 'Image') return;
    bytes += e.encodedDataLength;
    counted.push(url.pathname);
  });
  await page.goto(path, { waitUntil: 'networkidle' });
  await cdp.detach();
  return { bytes, counted };
}

test('a first load is at most 80 KB compressed', async (t) => {
  const node = await startNode();
  const browser = await launch();
  try {
    await createAccount(node, 'budget.test');
    const visitor = await newPage(browser, { viewport: PHONE, baseURL: node.url });
    const landing = await firstLoad(visitor, '/');
    t.diagnostic(`signed-out landing page: ${(landing.bytes / 1024).toFixed(1)} KB in ${landing.counted.length} requests`);
    assert.ok(landing.bytes <= FIRST_LOAD_BUDGET, `${landing.bytes} bytes: ${landing.counted.join(' ')}`);

    const member = await newPage(browser, { viewport: PHONE, baseURL: node.url });
    await signInWithForm(member, 'budget.test');
    const home = await firstLoad(member, '/');
    await member.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    t.diagnostic(`signed-in home timeline: ${(home.bytes / 1024).toFixed(1)} KB in ${home.counted.length} requests`);
    assert.ok(home.counted.some((p) => p.endsWith('/views/home.js')), 'the home view was loaded');
    assert.ok(home.bytes <= FIRST_LOAD_BUDGET, `${home.bytes} bytes: ${home.counted.join(' ')}`);
    assert.deepEqual(member.problems(), []);
  } finally {
    await browser.close();
    await node.stop();
  }
});
