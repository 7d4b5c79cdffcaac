// Operator actions by click (web/src/components/action_panel.rs) and the panic panel, end to end
// against the release build in ../dist (or RMQSIM_DIST): each action is clicked, its effect is seen
// (topology, the consumer's own view, counters, the action log), bad field values are shown next to the
// field, rewinding undoes an action's effect, and the share link reproduces the digest. Screenshots go
// to e2e/artifacts/actions-*.png (look at them).
//
// Test contract (ids): #action-panel  #dependency-state  #dependency-timeout  #act-dependency-down|up
//   #err-dependency-timeout  #act-add-consumer  #act-remove-consumer  #reset-topic  #reset-to  #act-reset
//   #act-skip-backlog  #err-reset-to  #config-key  #config-value  #act-config  #err-config-value
//   #live-config  #queues-topic  #queues-count  #act-queues  #err-queues
//   #panic-panel  #panic-seed  #panic-command  (?debug=panic forces a panic)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, useBrowser, pageOpener, screenshots, timeUs, digest, nodeStatus, settled, pause, seekTo, select, shareRun,
  openScenarioPaused, scrollToTop,
} from './support.js';

const TIMEOUT = { timeout: 120_000 };

const env = useBrowser();
const openPage = pageOpener(env, { width: 1280, height: 1000, timeout: 20_000, waitForClock: false });
const shot = screenshots('actions', { prepare: scrollToTop });

/** The user actions listed in the run summary (nothing selected). */
async function userActions(page) {
  await page.click('#inspector .icon-button');
  await page.locator('#user-actions, #user-actions-empty').first().waitFor();
  return page.$$eval('#user-actions li', (items) => items.map((li) => li.textContent.trim()));
}

/** consumer-rebalance-join without its scripted scale-out: the standby consumer is ours to add. */
function sandboxScenario() {
  const text = fs.readFileSync(path.join(REPO, 'scenarios', 'consumer-rebalance-join.toml'), 'utf8');
  const edited = text
    .replace(/^id = ".*"$/m, 'id = "actions-by-click"')
    .replace(/\[\[actions\]\]\nat = "20s"\ndo = "add_consumer"\ngroup = "OrderProcessing"\n/, '')
    .replace(/^stop_at = "50s"$/m, 'stop_at = "200s"');
  assert.ok(!edited.includes('do = "add_consumer"'), 'the scripted add_consumer was removed');
  return edited;
}

async function importScenario(page) {
  await page.locator('#virtual-time').waitFor();
  await pause(page);
  await page.setInputFiles('#import-file', {
    name: 'actions-by-click.toml',
    mimeType: 'text/plain',
    buffer: Buffer.from(sandboxScenario()),
  });
  await page.locator('#topology g.node[data-node="consumer-1"]').waitFor();
}

async function playUntil(page, seconds) {
  await page.click('#play-pause');
  await page.waitForFunction((us) => Number(document.querySelector('#virtual-time').dataset.timeUs) > us, seconds * 1e6);
  await pause(page);
}

test('consumer group actions by click: database down/up, members, live settings, offsets, queues; rewind; share', TIMEOUT, async () => {
  const page = await openPage();
  await importScenario(page);
  await playUntil(page, 10);

  // The business dependency goes down: the consumer's view says so.
  await select(page, 'consumer-0');
  await page.locator('#action-panel').waitFor();
  assert.equal((await page.textContent('#dependency-state')).trim(), 'up');
  // A bad timeout is refused next to its field, and nothing is logged.
  await page.fill('#dependency-timeout', 'soon');
  await page.click('#act-dependency-down');
  await page.locator('#err-dependency-timeout').waitFor();
  assert.match(await page.textContent('#err-dependency-timeout'), /`soon` is not a duration/);
  await page.fill('#config-value', '5000');
  await page.click('#act-config');
  await page.locator('#err-config-value').waitFor();
  assert.match(await page.textContent('#err-config-value'), /1\.\.=1024/);
  await page.fill('#reset-to', 'yesterday');
  await page.click('#act-reset');
  await page.locator('#err-reset-to').waitFor();
  await shot(page, '01-field-errors');
  assert.deepEqual(await userActions(page), [], 'refused forms log nothing');

  await select(page, 'consumer-0');
  await page.fill('#dependency-timeout', '2s');
  await page.click('#act-dependency-down');
  await page.waitForFunction(() => document.querySelector('#dependency-state')?.textContent.trim() === 'down');
  assert.equal(await page.locator('#err-dependency-timeout').count(), 0, 'the error went away');
  const downAt = await timeUs(page);

  // A live setting RocketMQ applies at runtime.
  await page.selectOption('#config-key', 'pullBatchSize');
  await page.fill('#config-value', '4');
  await page.click('#act-config');
  await page.waitForFunction(() => document.querySelector('#live-config')?.textContent.includes('pullBatchSize=4'));

  // Scale out: the standby consumer starts.
  assert.equal(await nodeStatus(page, 'consumer-1'), 'not-started', 'the standby consumer is not running');
  await page.click('#act-add-consumer');
  await page.waitForFunction(() => document.querySelector('#topology g.node[data-node="consumer-1"]')?.dataset.status === 'up');
  await playUntil(page, 18);
  await select(page, 'consumer-1');
  assert.equal((await page.textContent('#dependency-state')).trim(), 'down', 'the new consumer finds the database down too');
  assert.match(await page.textContent('#live-config'), /pullBatchSize=32/, 'a new process starts from its configured value');
  await shot(page, '02-database-down-scaled-out');

  // Database up again, then skip the backlog the outage left.
  await page.click('#act-dependency-up');
  await page.waitForFunction(() => document.querySelector('#dependency-state')?.textContent.trim() === 'up');
  await page.click('#act-skip-backlog');
  // Remove the added consumer: graceful shutdown, its process ends a second later.
  await page.click('#act-remove-consumer');
  await playUntil(page, 21);
  assert.equal(await nodeStatus(page, 'consumer-1'), 'stopped', 'a removed consumer shuts down gracefully: stopped, not killed');

  // On a broker: change the topic's queue numbers.
  await select(page, 'broker-a');
  await page.fill('#queues-count', '0');
  await page.click('#act-queues');
  await page.locator('#err-queues').waitFor();
  await page.fill('#queues-count', '8');
  await page.click('#act-queues');
  await page.waitForFunction(() => !document.querySelector('#err-queues'));
  await shot(page, '03-broker-queues');

  const actions = await userActions(page);
  const expected = [/database down for OrderProcessing \(2s\)/, /set OrderProcessing pullBatchSize = 4/,
    /add consumer to OrderProcessing/, /database up for OrderProcessing/, /reset offsets OrderProcessing TopicTest → latest/,
    /remove consumer consumer-1/, /change queues TopicTest = 8/];
  assert.equal(actions.length, expected.length, JSON.stringify(actions));
  expected.forEach((re, i) => assert.match(actions[i], re));
  await shot(page, '04-action-log');

  // Rewind before the outage: the database is up; forward again: the logged outage replays.
  await seekTo(page, 5);
  await select(page, 'consumer-0');
  assert.equal((await page.textContent('#dependency-state')).trim(), 'up');
  assert.equal(await nodeStatus(page, 'consumer-1'), 'not-started', 'before the scale-out it is a standby again');
  await seekTo(page, downAt / 1e6 + 2);
  assert.equal((await page.textContent('#dependency-state')).trim(), 'down', 'the outage replays after a rewind');

  // The share link reproduces the run with every action, digest for digest.
  await seekTo(page, 25);
  const { run } = await shareRun(page);
  assert.match(run, /^v1\.T~/);
  assert.equal((run.match(/~json~/g) ?? []).length, 7, 'the seven actions travel in the link');
  const senderDigest = await digest(page);
  const senderTime = await timeUs(page);
  const receiver = await openPage(`#run=${run}`);
  await receiver.locator('#virtual-time').waitFor();
  await settled(receiver);
  assert.equal(await timeUs(receiver), senderTime);
  assert.equal(await digest(receiver), senderDigest);
  assert.equal(await nodeStatus(receiver, 'consumer-1'), 'stopped');
  await shot(receiver, '05-share-link');
  for (const p of [page, receiver]) {
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});

test('the free sandbox editor: validation next to the field, then run the cluster it builds', TIMEOUT, async () => {
  const page = await openPage();
  await page.locator('#virtual-time').waitFor();
  await pause(page);
  await page.click('#sandbox-editor > summary');
  await page.locator('#editor-status').waitFor();
  assert.equal(await page.getAttribute('#editor-status', 'data-valid'), 'true', 'the basic cluster is valid');
  // A queue count out of range: the core's validation, shown next to the queues field; Run is disabled.
  await page.fill('#topic-0-queues', '2000');
  await page.locator('.field-error[data-for="topic-0-queues"]').waitFor();
  assert.match(await page.textContent('.field-error[data-for="topic-0-queues"]'), /out of range 1\.\.=1024/);
  assert.equal(await page.isDisabled('#editor-run'), true);
  // Not a number at all: the parser's error, at the same field.
  await page.fill('#topic-0-queues', 'many');
  await page.waitForFunction(() => /expected u32/.test(document.querySelector('.field-error[data-for="topic-0-queues"]')?.textContent ?? ''));
  // A subscription to a bad SQL92 expression is located at its consumer group.
  await page.fill('#topic-0-queues', '8');
  await page.fill('#consumer-0-group', 'bad group!');
  await page.locator('.field-error[data-for="consumer-0-group"]').waitFor();
  await shot(page, '08-editor-errors');
  await page.fill('#consumer-0-group', 'Orders');
  // Build: a second broker group (SYNC_MASTER + SYNC_FLUSH), broadcasting consumers.
  await page.click('#add-broker');
  await page.selectOption('#broker-1-role', 'SYNC_MASTER');
  await page.selectOption('#broker-1-flush', 'SYNC_FLUSH');
  await page.fill('#broker-1-slaves', '1');
  await page.selectOption('#consumer-0-model', 'BROADCASTING');
  await page.waitForFunction(() => document.querySelector('#editor-status')?.dataset.valid === 'true');
  assert.match(await page.textContent('#editor-toml'), /brokerRole = "SYNC_MASTER"/);
  await page.click('#editor-run');
  await page.locator('#topology g.node[data-node="broker-b-s1"]').waitFor();
  assert.equal(await page.locator('#topology g.node[data-node^="Orders-"]').count(), 3, 'two consumers and a standby');
  await playUntil(page, 5);
  assert.equal(await nodeStatus(page, 'broker-b'), 'up');
  await shot(page, '09-editor-ran');
  // Edit the running scenario: the form shows what runs.
  await page.click('#editor-edit-current');
  assert.equal(await page.inputValue('#broker-1-name'), 'broker-b');
  assert.equal(await page.locator('#editor-left-out').count(), 0, 'the form holds all of its own scenario');
  // A library scenario holds more than the form: the editor names what stays behind.
  await openScenarioPaused(page, 'consumer-crash-replay');
  await page.click('#editor-edit-current');
  await page.locator('#editor-left-out').waitFor();
  const leftOut = await page.textContent('#editor-left-out');
  assert.match(leftOut, /consumer group Shipping: settings beyond/);
  assert.match(leftOut, /1 scheduled action/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the sandbox scenario file: a library scenario edited whole keeps its actions, problems are located, then it runs', TIMEOUT, async () => {
  const page = await openPage();
  await page.locator('#virtual-time').waitFor();
  await pause(page);
  await openScenarioPaused(page, 'consumer-crash-replay');
  await page.click('#sandbox-editor > summary');
  // The form cannot hold the scheduled crash; the notice offers the file view, which holds everything.
  await page.click('#editor-edit-current');
  await page.click('#editor-left-out-file');
  await page.locator('#editor-file-text').waitFor();
  const original = await page.inputValue('#editor-file-text');
  assert.match(original, /\[\[actions\]\]/);
  assert.equal(await page.getAttribute('#editor-file-status', 'data-valid'), 'true');
  // A misspelt key and a bad value: each problem names its line; clicking one selects that place.
  const broken = original.replace('run_for = ', 'run_fr = ').replace('kind = "process_kill"', 'kind = "meteor"');
  await page.fill('#editor-file-text', broken);
  await page.locator('#editor-file-errors').waitFor();
  assert.equal(await page.isDisabled('#editor-file-run'), true);
  const lineOf = (text, needle) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
  const runFor = lineOf(broken, 'run_fr');
  const problems = await page.textContent('#editor-file-errors');
  assert.match(problems, /run_fr/);
  assert.match(problems, /meteor/);
  assert.equal(await page.locator(`.file-gutter .bad-line[data-line="${runFor}"]`).count(), 1);
  await page.click(`#editor-file-errors button[data-line="${runFor}"]`);
  const selected = await page.$eval('#editor-file-text', (t) => t.value.slice(t.selectionStart, t.selectionEnd));
  assert.match(selected, /^run_fr = /);
  // The syntax colours are a layer with exactly the text, lined up with it and following its scroll.
  const colours = await page.$eval('#editor-file-colours', (pre) => ({
    text: pre.textContent, keys: pre.querySelectorAll('.tok-key').length, tables: pre.querySelectorAll('.tok-table').length,
  }));
  assert.equal(colours.text, `${broken}\n`);
  assert.ok(colours.keys > 10 && colours.tables > 3, JSON.stringify(colours));
  await page.$eval('#editor-file-text', (area) => { area.scrollTop = 240; });
  await page.waitForFunction(() => {
    const area = document.querySelector('#editor-file-text');
    return area.scrollTop > 0 && area.scrollTop === document.querySelector('#editor-file-colours').scrollTop;
  });
  const heights = await page.$eval('#editor-file-text', (area) => [area.scrollHeight, document.querySelector('#editor-file-colours').scrollHeight]);
  assert.ok(Math.abs(heights[0] - heights[1]) <= 2, `text ${heights[0]} px high, colours ${heights[1]} px`);
  await shot(page, '09b-editor-file-errors');
  // Fixed, with the crash moved from 30 s to 20 s: it runs, and the scheduled crash happens at 20 s.
  await page.fill('#editor-file-text', original.replace('at = "30s"', 'at = "20s"'));
  await page.waitForFunction(() => document.querySelector('#editor-file-status')?.dataset.valid === 'true');
  await page.click('#editor-file-run');
  await page.locator('#topology g.node[data-node="consumer-1"]').waitFor();
  await playUntil(page, 21);
  assert.equal(await nodeStatus(page, 'consumer-1'), 'down');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('link, disk and broker faults by click: hold and release, clog and unclog, slow and normal disk, read only, all logged', TIMEOUT, async () => {
  const page = await openPage();
  await page.locator('#virtual-time').waitFor();
  await pause(page);
  // The default scenario plays on arrival: go back to 3 s, before broker-a's 10 s heartbeat.
  await seekTo(page, 3);
  await select(page, 'broker-a');
  await page.selectOption('#peer', 'namesrv-0');
  await page.click('#net-hold');
  await page.locator('#topology g.link.held').waitFor();
  // Held messages wait on the link: broker-a's next heartbeat (every 30 s) piles up there.
  await playUntil(page, 35);
  assert.match(await page.textContent('#topology g.link.held'), /⏸ [1-9]/);
  await shot(page, '10-held-link');
  await select(page, 'broker-a');
  await page.selectOption('#peer', 'namesrv-0');
  await page.click('#net-release');
  await page.waitForFunction(() => !document.querySelector('#topology g.link.held'));
  await page.click('#net-clog');
  await page.locator('#topology g.link.clog').waitFor();
  assert.match(await page.textContent('#topology g.link.clog'), /\+500 ms/);
  await page.click('#net-unclog');
  await page.waitForFunction(() => !document.querySelector('#topology g.link.clog'));
  await page.click('#fault-slow-disk');
  await page.click('#fault-normal-disk');
  // Read only, live: the NameServers' routes show broker-a's queues as R-- at once.
  await page.selectOption('#broker-permission', '4');
  await page.click('#act-broker-permission');
  await playUntil(page, 37);
  await select(page, 'namesrv-0');
  await page.waitForFunction(() => document.querySelector('#inspector')?.textContent.includes('R--'));
  await shot(page, '11-read-only-broker');
  const actions = await userActions(page);
  const expected = [/hold broker-a → namesrv-0/, /release broker-a → namesrv-0/, /clog broker-a → namesrv-0 \+500ms/,
    /clog broker-a → namesrv-0 \+0ms/, /slow disk broker-a ×10/, /slow disk broker-a ×1/,
    /set broker-a brokerPermission = 4/];
  assert.equal(actions.length, expected.length, JSON.stringify(actions));
  expected.forEach((re, i) => assert.match(actions[i], re));
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a lite pull consumer seeks by click', TIMEOUT, async () => {
  const page = await openPage();
  await page.locator('#virtual-time').waitFor();
  await pause(page);
  await page.click('[data-scenario="consumer-lite-pull"]');
  await page.locator('#topology g.node[data-node="poll-0"]').waitFor();
  await playUntil(page, 8);
  await select(page, 'poll-0');
  await page.fill('#seek-to', 'start');
  await page.click('#act-seek');
  await page.locator('#err-seek-to').waitFor();
  await page.fill('#seek-to', 'begin');
  await page.click('#act-seek');
  await page.waitForFunction(() => !document.querySelector('#err-seek-to'));
  const actions = await userActions(page);
  assert.equal(actions.length, 1, JSON.stringify(actions));
  assert.match(actions[0], /seek poll-0 TopicTest → begin/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the operator panel speaks Chinese too', TIMEOUT, async () => {
  const page = await openPage();
  await importScenario(page);
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('#lang-toggle')?.dataset.lang === 'zh');
  await select(page, 'consumer-0');
  await page.locator('#action-panel').waitFor();
  assert.match(await page.textContent('#action-panel'), /操作消费组/);
  assert.match(await page.textContent('#act-dependency-down'), /数据库宕机/);
  await shot(page, '06-chinese');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('#lang-toggle')?.dataset.lang === 'en');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a panic shows the error panel with the seed and the command that reproduces the run', TIMEOUT, async () => {
  const page = await openPage('?debug=panic#run=v1.broker-heartbeats');
  // The link above is cut short: the app says so, opens the default scenario, then panics on purpose.
  await page.locator('#panic-panel').waitFor();
  const command = await page.textContent('#panic-command');
  assert.match(command, /^rmqsim run 'v1\.broker-heartbeats~[0-9a-f]{8}\.1\.\d+[a-z]+'$/);
  assert.equal((await page.textContent('#panic-seed')).trim(), '1');
  assert.match(await page.textContent('#panic-message'), /forced by \?debug=panic/);
  assert.ok(page.errors.some((e) => e.includes('forced by ?debug=panic')), 'the panic reached the console');
  await shot(page, '07-panic-panel');
  await page.context().close();
});
