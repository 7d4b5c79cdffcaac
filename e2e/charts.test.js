// Charts, timeline marks, the predict-then-run quiz and performance probes, end to end against the
// release build in ../dist (or RMQSIM_DIST) in headless Chromium. Screenshots go to
// e2e/artifacts/charts-*.png (look at them). Performance numbers are logged, never asserted.
//
// The app's test contract used here (besides sandbox.test.js's):
//   #chart[data-kind][data-samples]  #chart-tab-<kind>  #chart-tooltip  #chart-png  #chart-svg
//   #scrubber .marker.<scenario|user|observed|leader|rebalance|violation>[data-at-us]
//   #quiz  #quiz-option-<i>  #quiz-lock  #quiz-status[data-state=locked|right|wrong]  .quiz-option.right
//   #seeking[data-percent]
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { DIST } from './serve_dist.js';
import {
  useBrowser, pageOpener, screenshots, scrollToTop, timeUs, settled as settledWithin, pause,
} from './support.js';

const TIMEOUT = { timeout: 120_000 };

const env = useBrowser();
const openPage = pageOpener(env, { width: 1400, height: 1000, timeout: 30_000, acceptDownloads: true });
const shot = screenshots('charts', { prepare: scrollToTop });

const settled = (page) => settledWithin(page, { timeout: 90_000 });

async function openScenario(page, id) {
  await page.click(`[data-scenario="${id}"]`);
  await page.waitForFunction((i) => document.querySelector(`[data-scenario="${i}"]`)?.getAttribute('aria-current') === 'true', id);
}

/** Click the scrubber at `fraction` of the run (1 = its end), below the marks, then wait for the seek. */
async function seekToFraction(page, fraction) {
  const box = await page.locator('#scrubber').boundingBox();
  await page.mouse.click(box.x + Math.min(box.width * fraction, box.width - 2), box.y + box.height - 2.5);
  await settled(page);
}

/** Jump to just before the end, then play the last instants: the run ends paused at its end. */
async function runToEnd(page) {
  await seekToFraction(page, 1);
  await page.click('#play-pause');
  await page.waitForFunction(() => document.querySelector('#play-pause')?.dataset.playing === 'false');
  await settled(page);
}

test('charts: tabs from the checkers, hover shows the sample, export as PNG and SVG', TIMEOUT, async () => {
  const page = await openPage();
  await openScenario(page, 'duplicate-lost-ack-retry');
  await seekToFraction(page, 1);
  await page.locator('#chart-tab-throughput').waitFor();
  for (const kind of ['throughput', 'backlog', 'latency', 'at-risk', 'violations']) {
    await page.click(`#chart-tab-${kind}`);
    await page.waitForFunction((k) => document.querySelector('#chart')?.dataset.kind === k, kind);
  }
  assert.ok(Number(await page.getAttribute('#chart', 'data-samples')) > 10, 'the chart has samples');
  // Hover the middle of the plot: a crosshair and the exact values of the nearest sample.
  const box = await page.locator('#chart').boundingBox();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  await page.locator('#chart-tooltip').waitFor();
  const tooltip = await page.textContent('#chart-tooltip');
  assert.match(tooltip, /duplicated/, tooltip);
  assert.match(tooltip, /\d\d:\d\d\.\d{3}/, `the tooltip names the instant: ${tooltip}`);
  await shot(page, '01-hover');
  await page.mouse.move(box.x - 20, box.y - 20);
  await page.locator('#chart-tooltip').waitFor({ state: 'detached' });

  const [png] = await Promise.all([page.waitForEvent('download'), page.click('#chart-png')]);
  assert.equal(png.suggestedFilename(), 'rmqsim-duplicate-lost-ack-retry-violations.png');
  const pngBytes = fs.readFileSync(await png.path());
  assert.deepEqual([...pngBytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG file');
  const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#chart-svg')]);
  assert.equal(svg.suggestedFilename(), 'rmqsim-duplicate-lost-ack-retry-violations.svg');
  const svgText = fs.readFileSync(await svg.path(), 'utf8');
  assert.ok(svgText.startsWith('<svg') && svgText.includes('duplicated'), svgText.slice(0, 200));

  // The chart speaks the page's language.
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('#chart-tab-violations')?.textContent.includes('重复'));
  await shot(page, '02-zh');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('timeline marks: rebalances, leader changes and violations; a click on a mark seeks to its instant', TIMEOUT, async () => {
  const page = await openPage();
  await openScenario(page, 'consumer-rebalance-join');
  await seekToFraction(page, 1);
  await page.locator('#scrubber .marker.rebalance').first().waitFor();
  const mark = page.locator('#scrubber .marker.rebalance').first();
  const at = Number(await mark.getAttribute('data-at-us'));
  // Marks of the same instant overlap: press this one directly (a mark seeks on pointerdown, which a
  // mouse, a pen and a finger all send).
  await mark.dispatchEvent('pointerdown', { button: 0, buttons: 1, bubbles: true, isPrimary: true, pointerId: 1 });
  await settled(page);
  assert.equal(await timeUs(page), at, 'the click on a mark seeks exactly to it');
  await shot(page, '03-rebalance-mark');

  // Violations are marked where they were caused (taken when the run rests).
  await openScenario(page, 'loss-async-flush-power-loss');
  await seekToFraction(page, 1);
  await page.locator('#scrubber .marker.violation').first().waitFor();
  const title = await page.getAttribute('#scrubber .marker.violation', 'title');
  assert.match(title, /lost_acknowledged/, title);
  await shot(page, '04-violation-mark');

  // A leader change, when the library has a DLedger scenario.
  if (await page.locator('[data-scenario="dledger-leader-failover"]').count()) {
    await openScenario(page, 'dledger-leader-failover');
    await seekToFraction(page, 1);
    await page.locator('#scrubber .marker.leader').first().waitFor();
  }
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('predict then run: the quiz is locked before the run and graded by the verdict at its end', TIMEOUT, async () => {
  const page = await openPage();
  await openScenario(page, 'loss-async-flush-power-loss');
  await page.locator('#quiz').waitFor();
  assert.equal(await page.isDisabled('#quiz-lock'), true, 'nothing to lock before a pick');
  await page.click('#quiz-option-0');
  await page.click('#quiz-lock');
  assert.equal(await page.getAttribute('#quiz-status', 'data-state'), 'locked');
  assert.equal(await page.isDisabled('#quiz-option-1'), true, 'a locked prediction cannot change');
  await shot(page, '05-quiz-locked');
  await runToEnd(page);
  await page.waitForFunction(() => ['right', 'wrong'].includes(document.querySelector('#quiz-status')?.dataset.state));
  // "None lost" is wrong for ASYNC_FLUSH + power loss: the checkers count the lost acknowledged messages.
  assert.equal(await page.getAttribute('#quiz-status', 'data-state'), 'wrong');
  assert.equal(await page.locator('.quiz-option.right').count(), 1, 'the option that holds is shown');
  assert.match(await page.textContent('#quiz-status'), /lost_acknowledged = [1-9]/);
  await shot(page, '06-quiz-graded');

  // Pick the one that holds: graded at once, the run has ended.
  await page.click('#quiz-again');
  const right = await page.$$eval('.quiz-option input', (inputs) => inputs.length);
  assert.ok(right >= 2);
  await page.click('#quiz-option-1');
  await page.click('#quiz-lock');
  await page.waitForFunction(() => document.querySelector('#quiz-status')?.dataset.state === 'right');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

/**
 * Press play and count animation frames and long tasks until the run stops or 5 s pass; the virtual
 * clock's progress gives the speed reached.
 */
async function playProbe(page, start = () => page.click('#play-pause')) {
  const probe = page.evaluate(async () => {
    const gaps = [];
    let longTasks = 0;
    const observer = new PerformanceObserver((list) => { longTasks += list.getEntries().length; });
    try { observer.observe({ type: 'longtask' }); } catch { /* not supported */ }
    const clock = () => Number(document.querySelector('#virtual-time').dataset.timeUs);
    const playing = () => document.querySelector('#play-pause').dataset.playing === 'true';
    const start = performance.now();
    const from = clock();
    let last = start;
    await new Promise((resolve) => {
      const frame = (now) => {
        gaps.push(now - last);
        last = now;
        if (now - start < 5_000 && (playing() || now - start < 300)) requestAnimationFrame(frame); else resolve();
      };
      requestAnimationFrame(frame);
    });
    observer.disconnect();
    const to = clock();
    gaps.sort((a, b) => a - b);
    const ms = last - start;
    return {
      fps: gaps.length / (ms / 1_000),
      p50: gaps[Math.floor(gaps.length / 2)],
      p95: gaps[Math.floor(gaps.length * 0.95)],
      longTasks, from, to, ms, speed: (to - from) / 1e3 / ms,
    };
  });
  await start();
  return probe;
}

test('performance probes: fps at 100x, first render, computing ahead (logged, not asserted)', { timeout: 240_000 }, async () => {
  const page = await openPage();
  const firstRender = Number(await page.getAttribute('#perf', 'data-first-render-ms'));
  const navigation = await page.evaluate(() => {
    const [nav] = performance.getEntriesByType('navigation');
    return { domContentLoaded: nav?.domContentLoadedEventEnd, load: nav?.loadEventEnd };
  });
  console.log(`perf: first render ${firstRender.toFixed(0)} ms after navigation start ` +
    `(DOMContentLoaded ${navigation.domContentLoaded?.toFixed(0)} ms, load ${navigation.load?.toFixed(0)} ms)`);
  for (const name of fs.readdirSync(DIST).filter((f) => f.endsWith('.wasm'))) {
    const bytes = fs.readFileSync(path.join(DIST, name));
    const gzipped = zlib.gzipSync(bytes, { level: 9 }).length;
    console.log(`perf: ${name}: ${bytes.length} B, ${gzipped} B gzipped (-9)`);
  }

  const id = (await page.locator('[data-scenario="backlog-8-brokers-20-consumers"]').count())
    ? 'backlog-8-brokers-20-consumers'
    : 'consumer-backlog';
  await openScenario(page, id);
  if ((await page.getAttribute('#play-pause', 'data-playing')) === 'true') await page.click('#play-pause');
  await page.selectOption('#speed', '100000');
  const log = (what, probe, meter) => console.log(`perf: ${id} at 100x, ${what}: ${probe.fps.toFixed(1)} fps ` +
    `(frame gap p50 ${probe.p50.toFixed(1)} ms, p95 ${probe.p95.toFixed(1)} ms, ${probe.longTasks} long tasks); ` +
    `virtual time ${(probe.from / 1e6).toFixed(1)} -> ${(probe.to / 1e6).toFixed(1)} s in ${(probe.ms / 1e3).toFixed(2)} s ` +
    `(effective ${probe.speed.toFixed(1)}x); meter: ${meter.workMs} ms simulation + ${meter.renderMs} ms render per frame; ` +
    `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
  // Pressing play at once: the page computes while it plays (the clock lags where the run is busy).
  const atOnce = await playProbe(page);
  log('pressing play at once', atOnce, await page.$eval('#perf', (p) => ({ ...p.dataset })));
  await shot(page, '07-perf-100x');
  await pause(page);
  await settled(page);
  // Opened afresh and left paused, the run is computed ahead; then 100x plays it from the start.
  await openScenario(page, id);
  await pause(page);
  const waited = Date.now();
  await page.waitForFunction(() => Number(document.querySelector('#computed').dataset.computedUs) >=
    Number(document.querySelector('#scrubber').dataset.endUs), null, { timeout: 120_000 });
  const preroll = Date.now() - waited;
  const ahead = await playProbe(page);
  log(`after ${(preroll / 1e3).toFixed(1)} s paused (the whole run computed ahead)`, ahead,
    await page.$eval('#perf', (p) => ({ ...p.dataset })));
  await pause(page);

  // Opened afresh it plays at 10x, and each frame's spare time computes ahead: after 5 s of watching,
  // switching to 100x plays frames already computed.
  await openScenario(page, id);
  if ((await page.getAttribute('#play-pause', 'data-playing')) !== 'true') await page.click('#play-pause');
  await page.selectOption('#speed', '10000');
  await page.waitForTimeout(5_000);
  const watched = await playProbe(page, () => page.selectOption('#speed', '100000'));
  log('after 5 s of watching at 10x', watched, await page.$eval('#perf', (p) => ({ ...p.dataset })));
  await pause(page);

  // Jump far ahead: computed in slices across frames with a progress indicator, the page keeps painting.
  await page.keyboard.press('Home');
  await settled(page);
  const box = await page.locator('#scrubber').boundingBox();
  const jump = page.evaluate(async () => {
    const gaps = [];
    let last = performance.now();
    const percents = new Set();
    let seen = false;
    const start = last;
    await new Promise((resolve) => {
      const frame = (now) => {
        gaps.push(now - last);
        last = now;
        const seeking = document.querySelector('#seeking');
        if (seeking) percents.add(seeking.dataset.percent);
        const clock = document.querySelector('#virtual-time');
        const seekingNow = clock?.dataset.seeking === 'true';
        seen = seen || seekingNow;
        // Arrived: near the end and not seeking (from a checkpoint of the run computed ahead, a jump
        // may take a single frame and never show its progress).
        const endUs = Number(document.querySelector('#scrubber').dataset.endUs);
        const done = !seekingNow && Number(clock?.dataset.timeUs) >= endUs * 0.95;
        if (!done && now - start < 120_000) requestAnimationFrame(frame); else resolve();
      };
      requestAnimationFrame(frame);
    });
    return { ms: last - start, frames: gaps.length, worst: Math.max(...gaps), percents: percents.size };
  });
  await page.mouse.click(box.x + box.width - 2, box.y + box.height - 2.5);
  const result = await jump;
  await settled(page);
  console.log(`perf: jump to the end of ${id}: ${result.ms.toFixed(0)} ms over ${result.frames} frames, ` +
    `worst frame gap ${result.worst.toFixed(0)} ms, ${result.percents} progress steps shown`);
  // The jump copies only its last steps into the event log: the newest line is from just before the
  // end, not from before the jump.
  const newest = await page.$eval('#event-log li.line', (line) => line.textContent.slice(0, 9));
  const [minutes, seconds] = newest.split(':').map(Number);
  assert.ok(minutes * 60 + seconds >= 170, `the newest event log line is at ${newest}`);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
