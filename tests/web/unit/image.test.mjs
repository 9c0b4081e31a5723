// Image sizing (web/lib/image.js): the pure parts of the browser-side resize.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitWithin, cropTo, qualitySteps } from '../../../web/lib/image.js';

test('fits within a box, keeps the aspect, never enlarges', () => {
  assert.deepEqual(fitWithin(4000, 3000, 2000, 2000), { width: 2000, height: 1500 });
  assert.deepEqual(fitWithin(3000, 4000, 2000, 2000), { width: 1500, height: 2000 });
  assert.deepEqual(fitWithin(800, 600, 2000, 2000), { width: 800, height: 600 });
  assert.deepEqual(fitWithin(10000, 10, 1000, 1000), { width: 1000, height: 1 });
  assert.deepEqual(fitWithin(0, 10, 100, 100), { width: 0, height: 0 });
});

test('crops to an aspect ratio around the centre', () => {
  assert.deepEqual(cropTo(400, 300, 1), { x: 50, y: 0, width: 300, height: 300 });
  assert.deepEqual(cropTo(300, 400, 1), { x: 0, y: 50, width: 300, height: 300 });
  assert.deepEqual(cropTo(3000, 3000, 3), { x: 0, y: 1000, width: 3000, height: 1000 });
});

test('tries lower quality before smaller sizes, ending small', () => {
  const steps = qualitySteps();
  assert.deepEqual(steps[0], { scale: 1, quality: 0.9 });
  assert.ok(steps.every((s, i) => i === 0 || s.scale < steps[i - 1].scale || s.quality < steps[i - 1].quality));
  assert.ok(steps.at(-1).scale <= 0.3);
});
