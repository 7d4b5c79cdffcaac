// The first page of the rmqsim web app, in headless Chromium, against the release build in ../dist:
// it loads, virtual time runs while playing and stops when paused, the chart is drawn, and nothing
// is logged as an error. Run with `node --test` here, or `cargo xtask test --only build,e2e`.
//
// The ids are the app's contract with this test: #virtual-time[data-time-us] (integer virtual
// microseconds), #play-pause[data-playing="true"|"false"], canvas#chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ARTIFACTS, useBrowser, recordErrors } from './support.js';

const SCREENSHOT = path.join(ARTIFACTS, 'first_page.png');
const TIMEOUT = { timeout: 30_000 };

let page;
const errors = []; // console errors and uncaught page errors, checked by the last test

useBrowser({
  ready: async ({ browser, server }) => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
    recordErrors(page, errors);
    await page.goto(server.base);
  },
  // Taken even when a test failed: the picture is the first thing to look at.
  teardown: async () => {
    if (page) await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => {});
  },
});

/** The integer in #virtual-time's data-time-us, failing clearly if it is not one. */
async function virtualTimeUs() {
  const raw = await page.getAttribute('#virtual-time', 'data-time-us');
  assert.match(raw ?? '', /^\d+$/, `#virtual-time data-time-us should be an integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('the app loads and shows the virtual clock', TIMEOUT, async () => {
  await page.locator('#virtual-time').waitFor();
  await page.locator('#play-pause').waitFor();
  await virtualTimeUs();
});

test('virtual time advances while playing', TIMEOUT, async () => {
  assert.equal(await page.getAttribute('#play-pause', 'data-playing'), 'true', 'the app should start playing');
  const before = await virtualTimeUs();
  await sleep(1_000);
  const after = await virtualTimeUs();
  assert.ok(after > before, `virtual time should advance over 1 s of wall time: ${before} us then ${after} us`);
});

test('pausing freezes virtual time', TIMEOUT, async () => {
  await page.click('#play-pause');
  await page.waitForFunction(() => document.querySelector('#play-pause')?.dataset.playing === 'false');
  await sleep(200); // let a frame already scheduled before the click land
  const paused = await virtualTimeUs();
  await sleep(1_000);
  assert.equal(await virtualTimeUs(), paused, 'virtual time should not move while paused');
});

// Runs in the page: the number of non-white, non-transparent pixels of canvas#chart, or 0 while it
// is at most `min` (so waitForFunction keeps polling).
function inkAbove(min) {
  const canvas = document.querySelector('canvas#chart');
  if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250)) ink++;
  }
  return ink > min ? ink : 0;
}

test('the chart canvas is drawn', TIMEOUT, async () => {
  await page.locator('canvas#chart').waitFor();
  let ink;
  try {
    ink = await (await page.waitForFunction(inkAbove, 500, { polling: 100, timeout: 10_000 })).jsonValue();
  } catch {
    ink = await page.evaluate(inkAbove, -1);
  }
  assert.ok(ink > 500, `canvas#chart looks blank: ${ink} non-white pixels (want more than 500)`);
});

test('no console errors or page errors', TIMEOUT, async () => {
  assert.deepEqual(errors, []);
});
