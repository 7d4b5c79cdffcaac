// A student clicking around at random: open scenarios, click nodes and every enabled button of the
// inspector, seek, play, change speed and language, press the shortcuts, pick from the selects. A
// seeded generator picks the clicks, so a failure names the seed and the clicks before it; the app's
// pacing still follows the wall clock, so this is a smoke test of robustness, not a replayable run.
// Run with `node --test monkey.test.js` here (SEEDS=1,2,3 STEPS=300 for a longer walk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, pageOpener, screenshots } from './support.js';

const env = useBrowser();
const openPage = pageOpener(env, { width: 1280, height: 900, timeout: 5_000, dismissGuide: true });
const shot = screenshots('monkey', { fullPage: false });
const SEEDS = (process.env.SEEDS || '11,12').split(',').map(Number);
const STEPS = Number(process.env.STEPS || 120);

/** A small linear congruential generator: the same seed picks the same clicks. */
function generator(seed) {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return { next, pick: (list) => list[Math.floor(next() * list.length)] };
}

/** One random click (or key) of a student; returns what it did. */
async function randomClick(page, { next, pick }) {
  const r = next();
  if (await page.$('[role=dialog], .dialog-backdrop, .xray-overlay') && r < 0.6) {
    await page.keyboard.press('Escape');
    return 'Esc';
  }
  if (r < 0.06) {
    // The million-message backlog takes a minute to seek in: not in a quick walk.
    const ids = await page.$$eval('[data-scenario]', (els) => els.map((e) => e.dataset.scenario));
    const id = pick(ids.filter((i) => i !== 'backlog-million'));
    await page.click(`[data-scenario="${id}"]`);
    return `open ${id}`;
  }
  if (r < 0.22) {
    const nodes = await page.$$eval('#topology g.node', (els) => els.map((e) => e.dataset.node));
    const node = pick(nodes);
    const shift = next() < 0.2;
    await page.click(`#topology g.node[data-node="${node}"]`, { modifiers: shift ? ['Shift'] : [] });
    return `${shift ? 'shift-' : ''}click ${node}`;
  }
  if (r < 0.5) {
    const buttons = await page.$$('#inspector button:not([disabled]), .xray-overlay button:not([disabled])');
    if (!buttons.length) return 'no button';
    const button = pick(buttons);
    const label = (await button.textContent()).trim().slice(0, 40);
    await button.click();
    return `button ${label}`;
  }
  if (r < 0.6) {
    const box = await page.locator('#scrubber').boundingBox();
    const at = next();
    await page.mouse.click(box.x + box.width * at, box.y + box.height / 2);
    return `seek to ${(at * 100).toFixed(0)}%`;
  }
  if (r < 0.68) {
    await page.click('#play-pause');
    return 'play/pause';
  }
  if (r < 0.74) {
    const speed = pick(['100', '1000', '10000', '100000', '1000000', '10000000']);
    await page.selectOption('#speed', speed);
    return `speed ${speed}`;
  }
  if (r < 0.82) {
    const key = pick(['ArrowRight', 'ArrowLeft', 'Home', ' ', '+', '-', '?', 'Escape']);
    await page.keyboard.press(key);
    return `key ${key}`;
  }
  if (r < 0.86) {
    await page.click('#lang-toggle');
    return 'language';
  }
  const selects = await page.$$('#inspector select, .xray-overlay select');
  if (!selects.length) return 'no select';
  const select = pick(selects);
  const values = await select.$$eval('option', (options) => options.map((o) => o.value));
  if (!values.length) return 'empty select';
  const value = pick(values);
  await select.selectOption(value);
  return `select ${value}`;
}

for (const seed of SEEDS) {
  test(`a student clicking around at random (seed ${seed}) never meets an error or the panic panel`, { timeout: 300_000 }, async () => {
    const page = await openPage();
    const random = generator(seed);
    const done = [];
    for (let step = 0; step < STEPS; step++) {
      let what;
      try {
        what = await randomClick(page, random);
      } catch (error) {
        // A click the page did not take in time (a control under a dialog): a student would try again.
        what = `(not taken: ${String(error).split('\n')[0].slice(0, 80)})`;
      }
      done.push(what);
      await page.waitForTimeout(Math.floor(random.next() * 250));
      const panicked = (await page.locator('#panic-panel').count()) > 0;
      if (panicked || page.errors.length) {
        await shot(page, `seed-${seed}`);
        assert.fail(`after ${step + 1} clicks (${done.slice(-8).join(' · ')}): ` +
          `${panicked ? 'the panic panel; ' : ''}${page.errors.join('; ')}`);
      }
    }
    const taken = done.filter((w) => !w.startsWith('(not taken')).length;
    assert.ok(taken >= STEPS * 0.8, `most clicks were taken: ${taken} of ${STEPS}\n${done.join('\n')}`);
    await page.context().close();
  });
}
