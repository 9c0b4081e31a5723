// The device backup archive (web/lib/tar.js): a ustar file that GNU tar lists and unpacks
// byte for byte, with headers whose checksums are right.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { header, tarParts } from '../../../web/lib/tar.js';

test('headers carry a correct checksum', () => {
  const h = header('repo.car', 1234, 1_700_000_000);
  const stored = parseInt(new TextDecoder().decode(h.subarray(148, 154)), 8);
  let sum = 0;
  h.forEach((b, i) => (sum += i >= 148 && i < 156 ? 32 : b));
  assert.equal(stored, sum);
  assert.equal(new TextDecoder().decode(h.subarray(257, 262)), 'ustar');
  assert.throws(() => header('x'.repeat(101), 1));
});

test('GNU tar unpacks the archive as written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skyhold-tar-'));
  try {
    const car = Uint8Array.from({ length: 1500 }, (_, i) => i % 251);
    const image = new Blob([Uint8Array.from({ length: 512 }, (_, i) => 255 - (i % 256))]);
    const parts = tarParts([
      { name: 'repo.car', data: car },
      { name: 'blobs/bafkreiexample', data: image },
      { name: 'mirror.json', data: new TextEncoder().encode('{"did":"did:plc:x"}') },
    ]);
    const archive = Buffer.from(await new Blob(parts).arrayBuffer());
    assert.equal(archive.length % 512, 0);
    writeFileSync(join(dir, 'backup.tar'), archive);
    const listing = execFileSync('tar', ['tf', join(dir, 'backup.tar')], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing, ['repo.car', 'blobs/bafkreiexample', 'mirror.json']);
    execFileSync('tar', ['xf', join(dir, 'backup.tar'), '-C', dir]);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'repo.car'))), car);
    assert.equal(readFileSync(join(dir, 'blobs/bafkreiexample')).length, 512);
    assert.equal(readFileSync(join(dir, 'mirror.json'), 'utf8'), '{"did":"did:plc:x"}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
