// The browser sandbox, end to end, against the release build in ../dist (headless Chromium):
// library, play/pause, step, faults by click, rewind and fork, share links reproducing the CLI's
// digest, language switch, bad links, scenario import, keyboard shortcuts. Screenshots of each
// stage go to e2e/artifacts/sandbox-*.png (look at them). Run with `node --test` here, or
// `cargo xtask test --only build,e2e`.
//
// The app's test contract (ids and data attributes):
//   #virtual-time[data-time-us][data-seeking]  #play-pause[data-playing]  #step  #back  #speed
//   #seed  #seed-input  #reseed  #digest  #events[data-events]  #scrubber[data-end-us]
//   [data-scenario=<id>] (library)  #narrative-title  #guide  #guide-ok
//   #topology g.node[data-node=<name>][data-status=up|down|not-started|stopped]  #inspected-name  #inspected-status
//   #fault-kill|power|disk|restart  #peer  #net-partition-both|one-way  #net-heal  #heal-all
//   #live-brokers[data-count]  #user-actions li  #fork-banner  #toast
//   #share  #share-link  #share-cli  #lang-toggle[data-lang]  #link-error  #import-file  #import-errors
//   #help  #event-log li.line  #log-search  #perf[data-work-ms][data-fps][data-first-render-ms]
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REPO, useBrowser, pageOpener, screenshots, scrollToTop, timeUs, digest, nodeStatus, settled, pause, seekTo, shareRun, cli,
  openScenarioPaused, select,
} from './support.js';

const TIMEOUT = { timeout: 90_000 };

/** The CLI's digest of a built-in scenario (same core, natively). */
function cliDigest(id, seed, until) {
  return cli(['digest', id, '--seed', String(seed), '--until', until]).trim().split('\n').pop();
}

let cliDigestAt90s; // `rmqsim digest broker-heartbeats --seed 7 --until 90s`, computed once (may compile the CLI)

const env = useBrowser({
  setup: () => {
    cliDigestAt90s = cliDigest('broker-heartbeats', 7, '90s');
  },
});
/** A fresh page (own storage) that records console errors and page errors. */
const openPage = pageOpener(env, { width: 1280, height: 900, timeout: 20_000 });
const shot = screenshots('sandbox', { prepare: scrollToTop });

test('first visit: no errors, the guide points at the library, dismissing it is remembered', TIMEOUT, async () => {
  const page = await openPage();
  await page.locator('#guide').waitFor();
  assert.ok((await page.locator('#library [data-scenario]').count()) >= 1, 'the library lists scenarios');
  // Its pointer sits on its top edge, so the guide must come right under the library, overlapping it sideways.
  const library = await page.locator('#library').boundingBox();
  const guide = await page.locator('#guide').boundingBox();
  const gap = guide.y - (library.y + library.height);
  assert.ok(gap >= 0 && gap <= 24, `the guide starts right under the library (gap ${gap} px)`);
  assert.ok(guide.x < library.x + library.width && library.x < guide.x + guide.width, 'the guide is under the library');
  await shot(page, '01-first-visit');
  await page.click('#guide-ok');
  await page.locator('#guide').waitFor({ state: 'detached' });
  await page.reload();
  await page.locator('#virtual-time').waitFor();
  await page.waitForTimeout(300);
  assert.equal(await page.locator('#guide').count(), 0, 'the guide stays dismissed');
  const firstRender = Number(await page.getAttribute('#perf', 'data-first-render-ms'));
  console.log(`first render: ${firstRender} ms after navigation start`);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

/** The rendered height of the cluster's node names, in CSS px: how readable the picture is. */
const nodeNameHeights = (page) =>
  page.$$eval('#topology g.node text.name', (names) => names.map((n) => n.getBoundingClientRect().height));

test('the 8-broker, 20-consumer cluster stays readable on a laptop, a tablet and a phone, and no page is wider than its screen', TIMEOUT, async () => {
  for (const [width, height, name] of [[1280, 900, 'laptop'], [820, 1100, 'tablet'], [390, 844, 'phone']]) {
    const page = await openPage('', { width, height });
    await page.click('[data-scenario="backlog-8-brokers-20-consumers"]');
    await page.locator('#topology g.node[data-node="billing-19"]').waitFor();
    await page.waitForTimeout(300); // the picture lays itself out again once it knows its width
    const heights = await nodeNameHeights(page);
    assert.equal(heights.length, 31, `${name}: every node is drawn`);
    // 12.5 px names drawn at 4/5 scale or more; side by side they were ~5 px high on a laptop.
    assert.ok(Math.min(...heights) >= 10, `${name}: node names are at least 10 px high, got ${Math.min(...heights).toFixed(1)}`);
    const [scrollWidth, clientWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scrollWidth <= clientWidth, `${name}: the page is ${scrollWidth} px wide on a ${clientWidth} px screen`);
    await shot(page, `01b-backlog-${name}`);
    // Under the cluster on a tablet or a phone, the inspector comes into view when a node is clicked.
    await page.click('#topology g.node[data-node="broker-h"]');
    await page.locator('#inspected-name').waitFor();
    await page.waitForTimeout(300);
    const inspected = await page.locator('#inspected-name').boundingBox();
    assert.ok(inspected.y >= 0 && inspected.y + inspected.height <= height, `${name}: the inspector is on screen (y ${inspected.y})`);
    assert.equal((await page.textContent('#inspected-name')).trim(), 'broker-h');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  }
});

test('open a scenario, play, pause, step', TIMEOUT, async () => {
  const page = await openPage();
  await page.click('[data-scenario="producer-broker-down"]');
  await page.waitForFunction(() => document.querySelector('#narrative-title')?.textContent.includes('latency fault'));
  await page.locator('#topology g.node[data-node="producer-plain"]').waitFor();
  assert.equal(await page.getAttribute('#play-pause', 'data-playing'), 'false', 'a chosen scenario waits for Play');
  assert.equal(await timeUs(page), 0);

  await page.click('#play-pause');
  await page.waitForFunction(() => Number(document.querySelector('#virtual-time').dataset.timeUs) > 2_000_000);
  await pause(page);
  const paused = await timeUs(page);
  await page.waitForTimeout(500);
  assert.equal(await timeUs(page), paused, 'paused time stands still');

  const events = Number(await page.getAttribute('#events', 'data-events'));
  await page.click('#step');
  await page.waitForFunction((n) => Number(document.querySelector('#events').dataset.events) === n + 1, events);
  assert.ok((await timeUs(page)) >= paused, 'a step never goes back');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((n) => Number(document.querySelector('#events').dataset.events) === n + 2, events);
  assert.ok((await page.locator('#event-log li.line').count()) > 0, 'the event log shows lines');
  await shot(page, '02-scenario-stepped');

  // Any node kind can be inspected: a consumer's view is shown generically, here at 1200 px wide.
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.click('[data-scenario="consumer-rebalance-join"]');
  await page.locator('#topology g.node.kind-consumer').first().waitFor();
  await page.click('#play-pause');
  await page.waitForFunction(() => Number(document.querySelector('#virtual-time').dataset.timeUs) > 20_000_000);
  await pause(page);
  await page.locator('#topology g.node.kind-consumer').first().click();
  await page.locator('#inspector .node-panel dl.facts').first().waitFor();
  await shot(page, '02b-consumer-1200px');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a fault by click changes the topology and the counters; rewinding shows the earlier state; acting in the past forks', TIMEOUT, async () => {
  const page = await openPage();
  await pause(page);
  await seekTo(page, 20);
  const before = await timeUs(page);
  assert.ok(Math.abs(before - 20e6) < 2e6, `seeked near 20 s: ${before}`);
  await page.click('#topology g.node[data-node="namesrv-0"]');
  await page.locator('#live-brokers').waitFor();
  const liveBefore = Number(await page.getAttribute('#live-brokers', 'data-count'));
  assert.equal(liveBefore, 3, 'three brokers registered');
  assert.equal(await page.locator('#live-brokers tr[data-broker-name="broker-a"]').count(), 1);

  // Power loss on broker-a, by clicking.
  await page.click('#topology g.node[data-node="broker-a"]');
  await page.waitForFunction(() => document.querySelector('#inspected-name')?.textContent === 'broker-a');
  await page.click('#fault-power');
  await page.waitForFunction(() => document.querySelector('#topology g.node[data-node="broker-a"]')?.dataset.status === 'down');
  assert.match(await page.textContent('#inspected-status'), /power/);
  await shot(page, '03-power-loss');

  // The NameServers expire it about 120 s later: go there and look at namesrv-0's table.
  await seekTo(page, 160);
  await page.click('#topology g.node[data-node="namesrv-0"]');
  await page.locator('#live-brokers').waitFor();
  assert.equal(await page.locator('#live-brokers tr[data-broker-name="broker-a"]').count(), 0, 'namesrv-0 dropped broker-a');
  const liveAfter = Number(await page.getAttribute('#live-brokers', 'data-count'));
  assert.ok(liveAfter < liveBefore, `fewer live brokers: ${liveBefore} -> ${liveAfter}`);
  await shot(page, '04-expired');

  // Rewind to before the fault: broker-a is up again, and namesrv-0 knows three brokers.
  await seekTo(page, 10);
  assert.equal(await nodeStatus(page, 'broker-a'), 'up');
  await page.waitForFunction(() => Number(document.querySelector('#live-brokers')?.dataset.count) === 3);
  assert.equal(await page.locator('#live-brokers tr[data-broker-name="broker-a"]').count(), 1);
  // The future is kept until we act: the banner says acting now would replace it.
  await page.locator('#fork-banner').waitFor();
  await shot(page, '05-rewound');
  // Forward again: the logged power loss replays.
  await seekTo(page, 60);
  assert.equal(await nodeStatus(page, 'broker-a'), 'down');

  // Fork: back to 10 s and kill broker-c instead; the power loss of broker-a is dropped.
  await seekTo(page, 10);
  await page.click('#topology g.node[data-node="broker-c"]');
  await page.click('#fault-kill');
  await page.waitForFunction(() => document.querySelector('#topology g.node[data-node="broker-c"]')?.dataset.status === 'down');
  await page.locator('#toast').waitFor();
  assert.match(await page.textContent('#toast'), /Forked/);
  await seekTo(page, 60);
  assert.equal(await nodeStatus(page, 'broker-a'), 'up', 'the forked future has no power loss');
  assert.equal(await nodeStatus(page, 'broker-c'), 'down');
  await page.click('#inspector .icon-button');
  assert.equal(await page.locator('#user-actions li').count(), 1, 'one user action left after the fork');
  await shot(page, '06-forked');

  // A partition by click, then heal all.
  await page.click('#topology g.node[data-node="broker-b"]');
  await page.selectOption('#peer', '@name-servers');
  await page.click('#net-partition-both');
  await page.locator('#topology g.link.partition').first().waitFor();
  await shot(page, '07-partition');
  await page.click('#inspector .icon-button');
  await page.click('#heal-all');
  await page.waitForFunction(() => document.querySelectorAll('#topology g.link').length === 0);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('paused, the run is computed ahead; at 100x it plays from there, the X-ray waits for the pause, and the pause lands on the CLI digest', TIMEOUT, async () => {
  const page = await openPage('', { width: 1400, height: 900 });
  await openScenarioPaused(page, 'producer-broker-down');
  await seekTo(page, 20);
  const from = await timeUs(page);
  await select(page, 'producer-plain');
  await page.locator('#producer-xray').waitFor();
  // The green strip of the scrubber grows while the page is paused.
  const computed = () => page.$eval('#computed', (c) => Number(c.dataset.computedUs));
  await page.waitForFunction(() => Number(document.querySelector('#computed')?.dataset.computedUs) >= 60e6);
  assert.equal(await timeUs(page), from, 'computing ahead does not move the clock');
  await page.selectOption('#speed', '100000');
  await page.click('#play-pause');
  await page.locator('[data-waits-for-pause]').waitFor();
  assert.equal(await page.locator('#producer-xray').count(), 0, 'the X-ray waits while the frames play');
  await page.waitForFunction(() => Number(document.querySelector('#virtual-time').dataset.timeUs) >= 40e6);
  await pause(page);
  await shot(page, '04b-paused-after-frames');
  await settled(page);
  await page.locator('#producer-xray').waitFor();
  const at = await timeUs(page);
  assert.ok(at >= 40e6 && at % 250_000 === 0, `paused on a recorded frame's instant: ${at} us`);
  assert.equal(await digest(page), cliDigest('producer-broker-down', 1, `${at / 1000}ms`), 'the same run as the CLI');
  assert.ok((await computed()) >= at);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a share link reproduces the run: the CLI digest, and the sender digest with actions', TIMEOUT, async () => {
  const page = await openPage();
  await pause(page);
  const { run } = await shareRun(page);
  const [version, scenario] = run.split('.');
  assert.match(scenario, /^broker-heartbeats~[0-9a-f]{8}$/);

  // Same scenario, seed 7, at 90s: the digest the CLI prints.
  const expected = cliDigestAt90s;
  const linked = await openPage(`#run=${version}.${scenario}.7.90s`);
  await settled(linked);
  assert.equal(await timeUs(linked), 90_000_000);
  assert.equal(await linked.textContent('#seed'), '7');
  assert.equal(await digest(linked), expected, 'same digest as `rmqsim digest broker-heartbeats --seed 7 --until 90s`');
  await shot(linked, '08-share-link');

  // With user actions: the receiver sees exactly what the sender saw.
  await linked.click('#topology g.node[data-node="broker-a"]');
  await linked.click('#fault-kill');
  await linked.waitForFunction(() => document.querySelector('#topology g.node[data-node="broker-a"]')?.dataset.status === 'down');
  await linked.click('#step');
  const { run: withAction } = await shareRun(linked);
  assert.match(withAction, /\.90s~kill~broker-a$/);
  const senderDigest = await digest(linked);
  const receiver = await openPage(`#run=${withAction}`);
  await settled(receiver);
  assert.equal(await digest(receiver), senderDigest);
  assert.equal(await nodeStatus(receiver, 'broker-a'), 'down');
  // Pasting a link into an open page (only the fragment changes) opens it too.
  await receiver.evaluate((fragment) => { window.location.hash = fragment; }, `run=${version}.${scenario}.7.90s`);
  await receiver.waitForFunction(() => document.querySelector('#seed')?.textContent === '7' && document.querySelector('#virtual-time').dataset.seeking === 'false' && document.querySelector('#virtual-time').dataset.timeUs === '90000000');
  assert.equal(await digest(receiver), expected);
  for (const p of [page, linked, receiver]) {
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});

test('a bad link shows a clear error instead of a blank page', TIMEOUT, async () => {
  const page = await openPage('#run=v1.broker-heartbeats~00000000.1.0s');
  await page.locator('#link-error').waitFor();
  assert.match(await page.textContent('#link-error'), /another version of scenario `broker-heartbeats`/);
  await shot(page, '09-bad-link');
  await page.click('#link-error button');
  await page.locator('#link-error').waitFor({ state: 'detached' });
  assert.ok((await page.locator('#topology g.node').count()) > 0, 'the default scenario runs behind');

  const { run } = await shareRun(page);
  const [version, scenario] = run.split('.');
  await page.evaluate((fragment) => { window.location.hash = fragment; }, `run=${version}.${scenario}.1.0s.10s~reboot~broker-a`);
  await page.locator('#link-error').waitFor();
  assert.match(await page.textContent('#link-error'), /action 1 .*unknown action `reboot`/s);
  await page.click('#link-error button');
  const garbage = await openPage('#run=hello');
  await garbage.locator('#link-error').waitFor();
  assert.match(await garbage.textContent('#link-error'), /v1/);
  for (const p of [page, garbage]) {
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});

test('the language toggle switches the whole UI and is remembered', TIMEOUT, async () => {
  const page = await openPage();
  await pause(page);
  assert.equal(await page.getAttribute('#lang-toggle', 'data-lang'), 'en');
  const titleEn = await page.textContent('#narrative-title');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('#lang-toggle')?.dataset.lang === 'zh');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.equal((await page.textContent('#lang-toggle')).trim(), 'English');
  assert.match(await page.textContent('#play-pause'), /运行/);
  assert.match(await page.textContent('#event-log h2'), /事件日志/);
  const titleZh = await page.textContent('#narrative-title');
  assert.notEqual(titleZh, titleEn, 'the narrative comes from [narrative.zh]');
  await shot(page, '10-chinese');
  await page.reload();
  await page.locator('#virtual-time').waitFor();
  await page.waitForFunction(() => document.querySelector('#lang-toggle')?.dataset.lang === 'zh');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('#lang-toggle')?.dataset.lang === 'en');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('keyboard shortcuts and the help overlay', TIMEOUT, async () => {
  const page = await openPage();
  await pause(page);
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.querySelector('#play-pause')?.dataset.playing === 'true');
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.querySelector('#play-pause')?.dataset.playing === 'false');
  const speed = await page.inputValue('#speed');
  await page.keyboard.press('+');
  await page.waitForFunction((s) => document.querySelector('#speed').value !== s, speed);
  await page.keyboard.press('-');
  await page.waitForFunction((s) => document.querySelector('#speed').value === s, speed);
  await page.keyboard.press('?');
  await page.locator('#help').waitFor();
  await shot(page, '11-help');
  await page.keyboard.press('Escape');
  await page.locator('#help').waitFor({ state: 'detached' });
  await seekTo(page, 30);
  const at = await timeUs(page);
  await page.keyboard.press('ArrowLeft');
  await settled(page);
  await page.waitForFunction((t) => Number(document.querySelector('#virtual-time').dataset.timeUs) === t - 1_000_000, at);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('import a scenario file; a broken one lists its problems', TIMEOUT, async () => {
  const page = await openPage();
  await pause(page);
  const text = fs.readFileSync(path.join(REPO, 'scenarios', 'broker-heartbeats.toml'), 'utf8');
  const edited = text.replace(/name_servers = \d+/, 'name_servers = 3').replace(/^id = ".*"$/m, 'id = "my-three-nameservers"');
  await page.setInputFiles('#import-file', { name: 'mine.toml', mimeType: 'text/plain', buffer: Buffer.from(edited) });
  await page.locator('#topology g.node[data-node="namesrv-2"]').waitFor();
  assert.equal(await page.locator('#library .imported').count(), 1);
  // The share link carries the imported scenario inline.
  const { run } = await shareRun(page);
  assert.match(run, /^v1\.T~/);
  await shot(page, '12-imported');

  await page.setInputFiles('#import-file', { name: 'broken.toml', mimeType: 'text/plain', buffer: Buffer.from(text.replace('[topology]', '[topology]\nname_serverz = 2')) });
  await page.locator('#import-errors').waitFor();
  assert.match(await page.textContent('#import-errors'), /broken\.toml:\d+:\d+: .*name_serverz/);
  await page.click('#import-errors button');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('performance: frame work at 100x on the biggest built-in scenarios (reported, not asserted)', { timeout: 180_000 }, async () => {
  const page = await openPage();
  const ids = await page.$$eval('#library [data-scenario]', (items) => items.map((i) => i.dataset.scenario));
  const sizes = [];
  for (const id of ids) {
    await page.click(`[data-scenario="${id}"]`);
    await page.waitForFunction((i) => document.querySelector(`[data-scenario="${i}"]`)?.getAttribute('aria-current') === 'true', id);
    sizes.push([await page.locator('#topology g.node').count(), id]);
  }
  sizes.sort((a, b) => b[0] - a[0]);
  // The two largest topologies, and the backlog scenario (the most events per virtual second) if there is one.
  const chosen = [...new Set([sizes[0][1], sizes[1]?.[1], ids.find((id) => id.includes('backlog'))].filter(Boolean))];
  for (const id of chosen) {
    const nodes = sizes.find(([, i]) => i === id)[0];
    await page.click(`[data-scenario="${id}"]`);
    await page.selectOption('#speed', '100000');
    // Play for 6 s of wall time (from the start again whenever the scenario ends), sampling the meter.
    const samples = [];
    const started = Date.now();
    let virtualUs = 0;
    while (Date.now() - started < 6_000) {
      if ((await page.getAttribute('#play-pause', 'data-playing')) !== 'true') {
        await page.keyboard.press('Home');
        await settled(page);
        await page.click('#play-pause');
        await page.waitForTimeout(400); // let the moving averages forget the idle frames
        continue;
      }
      const before = await timeUs(page);
      await page.waitForTimeout(300);
      const perf = await page.$eval('#perf', (p) => ({ ...p.dataset }));
      const after = await timeUs(page);
      if ((await page.getAttribute('#play-pause', 'data-playing')) === 'true' && after > before) {
        samples.push(perf);
        virtualUs += after - before;
      }
    }
    await pause(page);
    const median = (key) => {
      const values = samples.map((s) => Number(s[key])).sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)];
    };
    console.log(`perf: ${id} (${nodes} nodes) at 100x: median ${median('workMs')} ms simulation + ${median('renderMs')} ms render ` +
      `per frame (budget ${median('budgetMs')} ms), ${median('fps')} fps over ${samples.length} samples; speed reached ` +
      `${median('speed')}x (meter), ` +
      (median('events') > 0
        ? `${median('events')} events per frame (${(1000 * median('workMs') / median('events')).toFixed(1)} us per event)`
        : 'played from frames computed ahead') +
      `, effective speed ` +
      `${(virtualUs / 1e3 / (samples.length * 300)).toFixed(0)}x; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
  }
  await shot(page, '13-perf-100x');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
