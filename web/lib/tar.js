// A tar archive (POSIX ustar) built in the browser, for the device backup: `repo.car`,
// `blobs/<cid>` and `mirror.json` in one file that `tar xf` unpacks and `skyhold recover --from`
// reads as it is. Parts are Blobs, so a backup with large images is assembled without copying
// them. Pure: tested in Node.
// Format: https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06

const BLOCK = 512;
const encoder = new TextEncoder();

function field(header, offset, length, text) {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new Error(`tar field too long: ${text}`);
  header.set(bytes, offset);
}

function octal(value, length) {
  return value.toString(8).padStart(length - 1, '0');
}

/** The 512-byte header of a regular file `name` of `size` bytes, modified at `mtime` (seconds). */
export function header(name, size, mtime = 0) {
  if (encoder.encode(name).length > 100) throw new Error(`tar name too long: ${name}`);
  const h = new Uint8Array(BLOCK);
  field(h, 0, 100, name);
  field(h, 100, 8, octal(0o644, 8));
  field(h, 108, 8, octal(0, 8));
  field(h, 116, 8, octal(0, 8));
  field(h, 124, 12, octal(size, 12));
  field(h, 136, 12, octal(Math.floor(mtime), 12));
  field(h, 148, 8, '        ');
  h[156] = 0x30; // '0': a regular file
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  let sum = 0;
  for (const byte of h) sum += byte;
  field(h, 148, 8, `${octal(sum, 7)}\0`);
  return h;
}

/** Zero bytes that pad `size` up to a whole block. */
function padding(size) {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/**
 * The archive of `files` (`[{ name, data }]`, data a Uint8Array or Blob) as an array of parts for
 * `new Blob(parts)`.
 */
export function tarParts(files, mtime = Date.now() / 1000) {
  const parts = [];
  for (const { name, data } of files) {
    const size = data.size ?? data.length;
    parts.push(header(name, size, mtime), data, padding(size));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  return parts;
}
