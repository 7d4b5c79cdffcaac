// Dragging the timeline, with a mouse and with a finger, end to end against the release build in
// ../dist (headless Chromium). A drag seeks while it moves and lands where the pointer is lifted, even
// when the pointer leaves the track on the way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, pageOpener, openScenarioPaused, settled, timeUs } from './support.js';

const TIMEOUT = { timeout: 120_000 };

const env = useBrowser();
const openPage = pageOpener(env, { width: 1280, height: 900, timeout: 30_000, dismissGuide: true });

/** The track's box and the run's end, to turn fractions of the track into instants. */
async function track(page) {
  const box = await page.locator('#scrubber').boundingBox();
  const endUs = Number(await page.getAttribute('#scrubber', 'data-end-us'));
  return { box, endUs, x: (fraction) => box.x + box.width * fraction, y: box.y + box.height / 2 };
}

/** Whether `us` is within a pixel's worth of time of `fraction` of the run. */
function near(us, fraction, { box, endUs }) {
  return Math.abs(us - endUs * fraction) <= endUs / box.width + 1;
}

test('a mouse drag along the timeline seeks as it moves and lands where it is released, even past the track', TIMEOUT, async () => {
  const page = await openPage();
  await openScenarioPaused(page, 'consumer-rebalance-join');
  const t = await track(page);
  await page.mouse.move(t.x(0.2), t.y);
  await page.mouse.down();
  await page.mouse.move(t.x(0.5), t.y, { steps: 5 });
  await settled(page);
  assert.ok(near(await timeUs(page), 0.5, t), `mid-drag at half the run: ${await timeUs(page)}`);
  // Out of the track (below it) and on: the drag follows the x until the button is released.
  await page.mouse.move(t.x(0.7), t.y + 80, { steps: 5 });
  await page.mouse.up();
  await settled(page);
  assert.ok(near(await timeUs(page), 0.7, t), `released at 70%: ${await timeUs(page)}`);
  // After the release, moving over the track seeks nothing.
  await page.mouse.move(t.x(0.3), t.y, { steps: 3 });
  await settled(page);
  assert.ok(near(await timeUs(page), 0.7, t), 'no seek without a button held');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a finger drags the timeline too', TIMEOUT, async () => {
  const page = await openPage();
  await openScenarioPaused(page, 'consumer-rebalance-join');
  const t = await track(page);
  const cdp = await page.context().newCDPSession(page);
  const touch = (type, x) => cdp.send('Input.dispatchTouchEvent', {
    type, touchPoints: type === 'touchEnd' ? [] : [{ x: Math.round(x), y: Math.round(t.y) }],
  });
  await touch('touchStart', t.x(0.1));
  for (const fraction of [0.2, 0.3, 0.4, 0.5, 0.6]) await touch('touchMove', t.x(fraction));
  await touch('touchEnd');
  await settled(page);
  assert.ok(near(await timeUs(page), 0.6, t), `the finger was lifted at 60%: ${await timeUs(page)}`);
  assert.equal(await page.evaluate(() => window.scrollY), 0, 'the page did not scroll');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
