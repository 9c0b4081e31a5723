// Debian's Chromium (/usr/bin/chromium) driven by playwright-core: never a downloaded browser.
// Each launch gets a fresh, temporary user-data-dir (playwright creates and removes it).

import { chromium } from 'playwright-core';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.SKYHOLD_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Where screenshots go (gitignored). */
export const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../artifacts');

export const PHONE = { width: 360, height: 780 };
export const DESKTOP = { width: 1280, height: 900 };

export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium (tests/run-all.sh does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/**
 * A page that records what must never happen: uncaught errors, CSP violations, failed requests
 * to other origins. `problems()` lists them.
 */
export async function newPage(browser, { viewport = DESKTOP, colorScheme = 'light', baseURL } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, baseURL, acceptDownloads: true, locale: 'en-US', timezoneId: 'UTC' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const page = await context.newPage();
  const seen = [];
  page.on('pageerror', (e) => seen.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (4\d\d|501)/.test(m.text())) seen.push(`console error: ${m.text()}`);
    if (/Content[- ]Security[- ]Policy/i.test(m.text())) seen.push(`CSP: ${m.text()}`);
  });
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (!['http:', 'https:'].includes(url.protocol)) return;
    if (baseURL && url.origin !== new URL(baseURL).origin) seen.push(`request to another origin: ${r.url()}`);
  });
  page.problems = () => seen.slice();
  return page;
}

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core on the page (injected through the DevTools protocol, so the page's CSP stays
 * on) and returns the serious and critical violations.
 */
export async function seriousViolations(page) {
  const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!hasAxe) await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/** A screenshot in the artifacts folder. */
export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}
