// Counting what a person sees as characters (grapheme clusters), the unit of the post limit.
// app.bsky.feed.post: text maxGraphemes 300, maxLength 3000 (bytes of UTF-8).
// Pure: runs in the browser and in Node's test runner.

export const MAX_POST_GRAPHEMES = 300;
export const MAX_POST_BYTES = 3000;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const encoder = new TextEncoder();

/** Number of grapheme clusters in `text` ("👩‍👩‍👧" and "é" as e + accent count 1). */
export function countGraphemes(text) {
  let count = 0;
  for (const _ of segmenter.segment(text)) count++;
  return count;
}

/** Length of `text` in UTF-8 bytes (the unit of facet offsets and of maxLength). */
export function utf8Length(text) {
  return encoder.encode(text).length;
}

/** How much of the limit `text` uses: graphemes, what is left, and whether it fits. */
export function postLength(text, max = MAX_POST_GRAPHEMES, maxBytes = MAX_POST_BYTES) {
  const graphemes = countGraphemes(text);
  return {
    graphemes,
    remaining: max - graphemes,
    fits: graphemes <= max && utf8Length(text) <= maxBytes,
  };
}
