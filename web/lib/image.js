// Images chosen in the composer or the profile editor: resized and re-encoded in the browser
// (createImageBitmap + canvas), which also drops EXIF data such as GPS position, to fit the
// lexicon's size limits (app.bsky.embed.images: 1,000,000 bytes; profile avatar and banner too).
// `fitWithin` and `qualitySteps` are pure and tested in Node; `resizeImage` needs a browser.

/** Largest image blob the post and profile lexicons accept. */
export const MAX_IMAGE_BYTES = 1_000_000;
/** Longest side of a post image (what the official app uploads). */
export const POST_IMAGE_SIDE = 2000;

/** `width`×`height` scaled down (never up) to fit `maxWidth`×`maxHeight`, aspect kept. */
export function fitWithin(width, height, maxWidth, maxHeight) {
  if (!(width > 0 && height > 0)) return { width: 0, height: 0 };
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/** The size of a centred crop of `width`×`height` to the aspect `ratio` (width / height). */
export function cropTo(width, height, ratio) {
  if (width / height > ratio) {
    const w = Math.round(height * ratio);
    return { x: Math.round((width - w) / 2), y: 0, width: w, height };
  }
  const h = Math.round(width / ratio);
  return { x: 0, y: Math.round((height - h) / 2), width, height: h };
}

/** The encodings tried in order: JPEG quality falling, then smaller sizes. */
export function qualitySteps() {
  const steps = [];
  for (const scale of [1, 0.8, 0.6, 0.45, 0.3]) {
    for (const quality of [0.9, 0.8, 0.7]) steps.push({ scale, quality });
  }
  return steps;
}

/**
 * Re-encodes `file` as JPEG, at most `maxSide` pixels on its longest side and `maxBytes` long,
 * optionally cropped to `aspect`. Returns `{ blob, width, height }`.
 */
export async function resizeImage(file, { maxSide = POST_IMAGE_SIDE, maxBytes = MAX_IMAGE_BYTES, aspect } = {}) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  try {
    const crop = aspect ? cropTo(bitmap.width, bitmap.height, aspect) : { x: 0, y: 0, width: bitmap.width, height: bitmap.height };
    const base = fitWithin(crop.width, crop.height, maxSide, maxSide);
    for (const { scale, quality } of qualitySteps()) {
      const width = Math.max(1, Math.round(base.width * scale));
      const height = Math.max(1, Math.round(base.height * scale));
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext('2d');
      // JPEG has no transparency: paint a white background first.
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, width, height);
      ctx.drawImage(bitmap, crop.x, crop.y, crop.width, crop.height, 0, 0, width, height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
      if (blob && blob.size <= maxBytes) return { blob, width, height };
    }
    throw new Error('image too large');
  } finally {
    bitmap.close();
  }
}
