// What the e2e test files share: the server + Chromium for a file's tests, pages that record their
// console and page errors, screenshots into e2e/artifacts, the app's clock and play controls, and the
// CLI run natively (same core) for the numbers a page must match.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveDist, launchChromium } from './serve_dist.js';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..');
export const ARTIFACTS = path.join(HERE, 'artifacts');

/**
 * Serves dist/ and launches Chromium before the file's tests, closes both after them. `setup` runs
 * first in `before` (e.g. a CLI digest that may compile), `ready(env)` last (the browser is up),
 * `teardown` first in `after` (while the browser is still open). Read `env.server` and
 * `env.browser` inside the tests.
 */
export function useBrowser({ setup, ready, teardown } = {}) {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await setup?.();
    env.server = await serveDist();
    env.browser = await launchChromium();
    await ready?.(env);
  });
  after(async () => {
    await teardown?.();
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/** Pushes the page's uncaught errors and console errors onto `sink` (where in the source, when known). */
export function recordErrors(page, sink) {
  page.on('pageerror', (error) => sink.push(`page error: ${error}`));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      const { url, lineNumber } = message.location();
      sink.push(`console error: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
    }
  });
}

/**
 * An `openPage(fragment = '', { width, height } = {})` for a test file: a fresh context (own storage)
 * whose page records its errors in `page.errors`, opened at the server's base + `fragment`.
 * Defaults: `width`, `height` (the viewport), `timeout` (the page's default), `acceptDownloads`,
 * `dismissGuide` (the first-visit guide is not shown), `waitForClock` (wait for #virtual-time).
 */
export function pageOpener(env, defaults) {
  const { timeout, acceptDownloads = false, dismissGuide = false, waitForClock = true } = defaults;
  return async (fragment = '', { width = defaults.width, height = defaults.height } = {}) => {
    const context = await env.browser.newContext({
      viewport: { width, height },
      ...(acceptDownloads ? { acceptDownloads: true } : {}),
    });
    if (dismissGuide) await context.addInitScript(() => localStorage.setItem('rmqsim.guide.dismissed', '1'));
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    page.errors = [];
    recordErrors(page, page.errors);
    await page.goto(env.server.base + fragment);
    if (waitForClock) await page.locator('#virtual-time').waitFor();
    return page;
  };
}

/** Scrolls the page to its top (a full-page screenshot then starts at the header). */
export const scrollToTop = (page) => page.evaluate(() => window.scrollTo(0, 0));

/**
 * A `shot(page, name)` writing e2e/artifacts/<prefix>-<name>.png, after `prepare(page)` if given;
 * the whole page unless `fullPage` is false.
 */
export function screenshots(prefix, { prepare, fullPage = true } = {}) {
  return async (page, name) => {
    await prepare?.(page);
    const file = path.join(ARTIFACTS, `${prefix}-${name}.png`);
    if (!fullPage) return page.screenshot({ path: file });
    // Chromium's full-page capture does not render rows styled `content-visibility: auto` that are
    // outside the viewport (the event log's), so they come out blank; render them for the capture.
    const style = await page.addStyleTag({ content: '.line { content-visibility: visible !important; }' });
    await page.screenshot({ path: file, fullPage: true });
    await style.evaluate((node) => node.remove());
  };
}

export const timeUs = async (page) => Number(await page.getAttribute('#virtual-time', 'data-time-us'));
export const digest = (page) => page.textContent('#digest');
export const nodeStatus = (page, name) => page.getAttribute(`#topology g.node[data-node="${name}"]`, 'data-status');

/** Wait until no seek is in progress (a rewind or an opened link replays over several frames). */
export async function settled(page, options = {}) {
  await page.waitForFunction(() => document.querySelector('#virtual-time')?.dataset.seeking === 'false', null, options);
}

export async function pause(page) {
  if ((await page.getAttribute('#play-pause', 'data-playing')) === 'true') {
    await page.click('#play-pause');
    await page.waitForFunction(() => document.querySelector('#play-pause')?.dataset.playing === 'false');
  }
}

/** Seek by clicking the scrubber at `seconds` (the scrubber spans 0 .. the scenario's end). */
export async function seekTo(page, seconds) {
  const box = await page.locator('#scrubber').boundingBox();
  const endUs = Number(await page.getAttribute('#scrubber', 'data-end-us'));
  const x = box.x + (box.width * seconds * 1e6) / endUs;
  await page.mouse.click(x, box.y + box.height / 2);
  await settled(page);
}

/** Open a built-in scenario from the library, wait for its topology, and pause it. */
export async function openScenarioPaused(page, id) {
  await page.click(`[data-scenario="${id}"]`);
  await page.locator('#topology g.node').first().waitFor();
  await pause(page);
}

/** Select a node in the topology and wait until the inspector shows it. */
export async function select(page, name) {
  await page.click(`#topology g.node[data-node="${name}"]`);
  await page.waitForFunction((n) => document.querySelector('#inspected-name')?.textContent === n, name);
}

/** The share dialog's link and its run string, e.g. v1.broker-heartbeats~1f0c9a2e.1.30s */
export async function shareRun(page) {
  await page.click('#share');
  await page.locator('#share-link').waitFor();
  const link = await page.inputValue('#share-link');
  await page.click('#share-close');
  const run = link.split('#run=')[1];
  assert.ok(run?.startsWith('v1.'), `the share link carries a v1 run: ${link}`);
  return { link, run };
}

/** The CLI's standard output for `args` (RMQSIM_BIN=path/to/rmqsim, else `cargo run`; may compile). */
export function cli(args) {
  const bin = process.env.RMQSIM_BIN;
  const [cmd, pre] = bin ? [bin, []] : ['cargo', ['run', '--quiet', '--locked', '--bin', 'rmqsim', '--']];
  return execFileSync(cmd, [...pre, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 900_000,
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}
