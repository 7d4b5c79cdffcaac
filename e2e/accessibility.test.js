// Accessibility, end to end: axe-core (the rules browsers' audits use, WCAG 2.1 A/AA) on the states a
// student meets: the first page with its guide, a scenario with a broker, a consumer and a producer
// inspected, the storage and consumer X-rays, message fate, the help, share and sandbox dialogs, the
// error of a bad link, in English and Chinese. A violation names the rule, the elements and how to fix them.
//
// axe-core is a plain script from npm (e2e/package.json), injected into the page; nothing is downloaded.
// AXE_COLLECT=1 logs the violations of every state instead of failing at the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  HERE, useBrowser, pageOpener, screenshots, openScenarioPaused, seekTo, select, settled, timeUs,
} from './support.js';

const TIMEOUT = { timeout: 120_000 };
const AXE = path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js');

const env = useBrowser();
const openPage = pageOpener(env, { width: 1280, height: 900, timeout: 30_000 });
const shot = screenshots('accessibility', { fullPage: false });

/** axe's violations on the page as it is now, as readable lines (rule, impact, elements, first hint). */
async function violations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.split('\n')[1]?.trim() ?? ''}`),
    }));
  });
  return found.map((v) => `${v.rule} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 5).join('\n    ')}`);
}

/** Open a dialog or X-ray with `open`, check the page with `dialog` on top, close it with Esc. */
async function assertDialogAccessible(page, { open, dialog, where }) {
  await open();
  await page.locator(dialog).waitFor();
  await assertAccessible(page, where);
  await page.keyboard.press('Escape');
  await page.locator(dialog).waitFor({ state: 'detached' });
}

async function assertAccessible(page, where) {
  const found = await violations(page);
  if (process.env.AXE_COLLECT) {
    if (found.length) console.log(`== ${where}:\n${found.join('\n')}`);
    return;
  }
  assert.deepEqual(found, [], `${where}:\n${found.join('\n')}`);
}

test('a keyboard user tabs to a node and picks it with Enter, and Shift+Enter picks the peer', TIMEOUT, async () => {
  const page = await openPage();
  await openScenarioPaused(page, 'consumer-rebalance-join');
  await page.focus('#topology g.node[data-node="broker-a"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#inspected-name')?.textContent === 'broker-a');
  assert.equal(await page.getAttribute('#topology g.node[data-node="broker-a"]', 'aria-pressed'), 'true');
  await page.keyboard.press('Tab');
  const next = await page.evaluate(() => document.activeElement?.dataset?.node);
  assert.ok(next && next !== 'broker-a', `Tab moves to another node: ${next}`);
  await page.keyboard.press('Shift+Enter');
  await page.waitForFunction((n) => document.querySelector(`#topology g.node[data-node="${n}"]`)?.classList.contains('peer'), next);
  assert.equal(await page.textContent('#inspected-name'), 'broker-a', 'the selection stays; the other node is its peer');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the timeline is a slider: End goes to the end, Page Up a tenth of the run back', TIMEOUT, async () => {
  const page = await openPage();
  await openScenarioPaused(page, 'consumer-rebalance-join');
  const endUs = Number(await page.getAttribute('#scrubber', 'data-end-us'));
  await page.focus('#scrubber');
  await page.keyboard.press('End');
  await settled(page);
  assert.equal(await timeUs(page), endUs);
  assert.equal(await page.getAttribute('#scrubber', 'aria-valuenow'), String(Math.floor(endUs / 1e6)));
  await page.keyboard.press('PageUp');
  await settled(page);
  assert.equal(await timeUs(page), endUs - Math.floor(endUs / 10));
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

for (const lang of ['en', 'zh']) {
  test(`the first page and its guide pass axe's checks (${lang})`, TIMEOUT, async () => {
    const page = await openPage();
    if (lang === 'zh') await page.click('#lang-toggle');
    await page.locator('#guide').waitFor();
    await assertAccessible(page, 'first page');
    await page.context().close();
  });

  test(`a bad link's error passes axe's checks (${lang})`, TIMEOUT, async () => {
    const page = await openPage();
    if (lang === 'zh') await page.click('#lang-toggle');
    await page.goto(`${env.server.base}#run=v1.broker-heartbeats~00000000.1.0s`);
    await page.reload();
    await page.locator('#link-error').waitFor();
    assert.equal(await page.getAttribute('.app', 'data-lang'), lang);
    await assertAccessible(page, 'bad link error');
    await page.context().close();
  });

  test(`a scenario with its inspectors, X-rays and dialogs passes axe's checks (${lang})`, TIMEOUT, async () => {
    const page = await openPage('', { width: 1400, height: 1000 });
    if (lang === 'zh') await page.click('#lang-toggle');
    await openScenarioPaused(page, 'consumer-rebalance-join');
    await seekTo(page, 30);
    await select(page, 'broker-a');
    await assertAccessible(page, 'broker inspector');
    await shot(page, `broker-inspector-${lang}`);
    await assertDialogAccessible(page, { open: () => page.click('#open-xray'), dialog: '#storage-xray', where: 'storage X-ray' });

    await select(page, 'consumer-0');
    await page.locator('#consumer-xray').waitFor();
    await assertAccessible(page, 'consumer inspector');
    await assertDialogAccessible(page, {
      open: () => page.click('#open-consumer-xray'), dialog: '#consumer-overlay', where: 'consumer view and swimlane',
    });

    await select(page, 'producer-0');
    await assertAccessible(page, 'producer inspector');
    // The oldest send shown: the newest may still be in flight.
    await assertDialogAccessible(page, {
      open: () => page.locator('#event-log li.line.has-message').last().click(), dialog: '#message-fate', where: 'message fate',
    });

    await page.click('#sandbox-editor > summary');
    await page.locator('#sandbox-editor[open]').waitFor();
    await assertAccessible(page, 'sandbox editor');

    await assertDialogAccessible(page, { open: () => page.keyboard.press('?'), dialog: '#help', where: 'help' });
    await assertDialogAccessible(page, { open: () => page.click('#share'), dialog: '#share-dialog', where: 'share dialog' });
    // A sandbox form with a validation error next to its field.
    if (!(await page.locator('#sandbox-editor[open]').count())) await page.click('#sandbox-editor > summary');
    await page.fill('#topic-0-queues', '2000');
    await page.locator('.field-error[data-for="topic-0-queues"]').waitFor();
    await assertAccessible(page, 'sandbox editor with an error');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
}
