// Starts the real skyhold binary as a user would (`skyhold serve`, no test-only flags, no
// --lexicon-dir) on loopback ports it picks itself (read back from its "skyhold listening on"
// line) with a fresh data directory, and stops it by PID.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The binary under test: SKYHOLD_BIN, or the debug build `cargo test` makes. */
export const binary = process.env.SKYHOLD_BIN || join(root, 'target/debug/skyhold');

/**
 * Resolves with `{ port, relayPort }` once the node announces its main listener (it then serves;
 * the relay's listener is announced before it).
 */
function announcedPorts(child, timeoutMs) {
  return new Promise((resolvePorts, reject) => {
    const timer = setTimeout(() => reject(new Error(`skyhold did not announce its listener within ${timeoutMs} ms`)), timeoutMs);
    const lines = createInterface({ input: child.stdout });
    let relayPort = null;
    lines.on('line', (line) => {
      const relay = /^skyhold relay listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line);
      if (relay) relayPort = Number(relay[1]);
      const match = /^skyhold listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolvePorts({ port: Number(match[1]), relayPort });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`skyhold exited (${code}) before it announced its listener`));
    });
  });
}

/**
 * A running node: `{ url, port, relayUrl, adminPassword, dataDir, admin(nsid, body), stop() }`.
 * `args` are extra `serve` flags a user could pass (e.g. `--invite-required true`).
 */
export async function startNode(args = []) {
  if (!existsSync(binary)) throw new Error(`no skyhold binary at ${binary}: run cargo build (or set SKYHOLD_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), 'skyhold-web-'));
  const adminPassword = 'web-test-admin-password';
  const child = spawn(binary, ['serve', '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0', '--relay-listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, SKYHOLD_ADMIN_PASSWORD: adminPassword, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const { port, relayPort } = await announcedPorts(child, 60_000);
  // The public URL in local mode is http://localhost:PORT; the UI is opened there.
  const url = `http://localhost:${port}`;
  const basic = `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}`;
  return {
    url,
    port,
    /** The relay's listener (where relays take `requestCrawl`). */
    relayUrl: `http://127.0.0.1:${relayPort}`,
    adminPassword,
    dataDir: join(dir, 'data'),
    /** An admin call (HTTP basic auth): an XRPC method, or a path under /admin/ (`admin/…`). */
    async admin(nsid, body) {
      const path = nsid.startsWith('admin/') ? `/${nsid}` : `/xrpc/${nsid}`;
      const response = await fetch(`${url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${nsid}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    /** Codes the server would have emailed (no SMTP configured): the admin's list. */
    async pendingCodes() {
      const response = await fetch(`${url}/admin/codes`, { headers: { authorization: basic } });
      if (!response.ok) throw new Error(`/admin/codes: ${response.status}`);
      return response.json();
    },
    async stop() {
      if (child.exitCode === null) {
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
