// The vendored libraries (web/vendor/) are the files npm ships, byte for byte: each SHA-256 in
// web/vendor/VERSIONS matches, every vendored module is listed, and each licence is there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const vendor = fileURLToPath(new URL('../../../web/vendor/', import.meta.url));
const lines = readFileSync(join(vendor, 'VERSIONS'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
const rows = lines.map((l) => {
  const [file, pkg, version, from, licence, sha256] = l.trim().split(/\s+/);
  return { file, pkg, version, from, licence, sha256 };
});

test('every vendored file matches its recorded SHA-256', () => {
  assert.ok(rows.length >= 5);
  for (const row of rows) {
    const sum = createHash('sha256').update(readFileSync(join(vendor, row.file))).digest('hex');
    assert.equal(sum, row.sha256, `${row.file} (${row.pkg}@${row.version}) was changed`);
    assert.match(row.version, /^\d+\.\d+\.\d+$/, 'versions are pinned');
    const licenceFile = row.licence.split(':')[1];
    assert.ok(existsSync(join(vendor, 'licenses', licenceFile)), `licence ${licenceFile} of ${row.pkg}`);
  }
});

test('every vendored module is listed', () => {
  const listed = new Set(rows.map((r) => r.file));
  const files = readdirSync(vendor).filter((f) => f.endsWith('.mjs') || f.endsWith('.js'));
  assert.deepEqual(files.filter((f) => !listed.has(f)), []);
});
