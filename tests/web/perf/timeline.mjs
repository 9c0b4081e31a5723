// Measures how long the home timeline takes to render 50 posts after their data arrives, in
// Debian's Chromium against the real binary (the `feed-render` performance entry that
// web/components/feed.js records: from the response to a laid-out list). Not a test: it prints
// figures for docs/PERFORMANCE.md.
//
//   node tests/web/perf/timeline.mjs [runs]      (SKYHOLD_BIN picks the binary)

import { startNode } from '../support/server.mjs';
import { launch, newPage, DESKTOP } from '../support/browser.mjs';
import { createAccount, createRecord, signInWithForm } from '../support/members.mjs';
import { gradientPng } from '../support/png.mjs';

const runs = Number(process.argv[2] || 9);
const POSTS = 50;

async function upload(node, account, png) {
  const response = await fetch(`${node.url}/xrpc/com.atproto.repo.uploadBlob`, {
    method: 'POST',
    headers: { 'content-type': 'image/png', authorization: `Bearer ${account.accessJwt}` },
    body: png,
  });
  return (await response.json()).blob;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const node = await startNode();
const browser = await launch();
try {
  const members = [];
  for (const name of ['ana', 'bob', 'cleo', 'dev', 'eli']) members.push(await createAccount(node, `${name}.test`));
  const image = await upload(node, members[0], gradientPng(600, 400));
  for (let i = 0; i < POSTS; i++) {
    const author = members[i % members.length];
    const record = { text: `Post ${i}: a day in the garden with @ana.test, see https://example.com/${i} #garden`, langs: ['en'] };
    if (i % 5 === 0) record.embed = { $type: 'app.bsky.embed.images', images: [{ image, alt: `Picture ${i}`, aspectRatio: { width: 600, height: 400 } }] };
    await createRecord(node, author, 'app.bsky.feed.post', record);
  }
  const page = await newPage(browser, { viewport: DESKTOP, baseURL: node.url });
  await signInWithForm(page, 'ana.test');
  await page.getByRole('tab', { name: 'Everyone here' }).click();
  const cdp = await page.context().newCDPSession(page);
  for (const throttle of [1, 4]) {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
    const times = [];
    for (let run = 0; run < runs; run++) {
      await page.reload();
      await page.locator('[role=feed] article').nth(POSTS - 1).waitFor({ state: 'attached', timeout: 30_000 });
      const entries = await page.evaluate(() => performance.getEntriesByName('feed-render').map((e) => e.duration));
      if (entries.length) times.push(entries[0]);
    }
    const count = await page.locator('[role=feed] article').count();
    console.log(`CPU ${throttle}x: ${count} posts rendered in median ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}, ${times.length} runs)`);
  }
} finally {
  await browser.close();
  await node.stop();
}
