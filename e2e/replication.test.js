// Replication in the browser, end to end, against the release build (headless Chromium): open a
// replicated scenario, go past its failure, and see the new master or leader, and each failure's RTO
// and RPO in the replication panel — the same numbers `rmqsim run <scenario> --until <t> --json`
// prints at that instant (the test runs the CLI; nothing expected is written down here). Also the
// 5.x controller beside the NameServers with its own inspector, and the M/L badges on the topology.
// Screenshots go to e2e/artifacts/replication-*.png. Run with `node --test replication.test.js` here
// (RMQSIM_BIN=path/to/rmqsim to skip `cargo run`).
//
// Test contract: #replication  #replication-body[data-time-us]  .replication-group[data-group][data-master]
//   tr[data-replica][data-role][data-lag-bytes]  tr.failure[data-node][data-at-us][data-rto-us][data-lost]
//   [data-acknowledged][data-master-lost]  td.rto  #topology g.node[data-node][data-badge]
//   #controller-detail[data-elections]  .broker-set[data-broker-set][data-master]  #lang-toggle
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, pageOpener, screenshots, settled, pause, openScenarioPaused, cli } from './support.js';

const TIMEOUT = { timeout: 900_000 };

const env = useBrowser();
const openPage = pageOpener(env, { width: 1440, height: 1000, timeout: 60_000, dismissGuide: true });
const shot = screenshots('replication', { prepare: (page) => page.locator('#replication').scrollIntoViewIfNeeded() });
const shotAsIs = screenshots('replication', { fullPage: false });

/** Open a built-in scenario and seek to `fraction` of its run by clicking the scrubber. */
async function openAt(page, scenario, fraction) {
  await openScenarioPaused(page, scenario);
  const box = await page.locator('#scrubber').boundingBox();
  await page.mouse.click(box.x + box.width * fraction, box.y + box.height / 2);
  await settled(page);
}

/** What the CLI reports for the scenario at `us` microseconds (same core, natively). */
const cliRun = (id, us) => JSON.parse(cli(['run', id, '--until', `${us}us`, '--json']));

/** The panel shows the CLI's groups, masters, lags and failures (RTO, RPO) at the page's instant. */
async function panelMatchesCli(page, id) {
  await page.locator('#replication-body').waitFor();
  const us = Number(await page.getAttribute('#replication-body', 'data-time-us'));
  assert.equal(us, Number(await page.getAttribute('#virtual-time', 'data-time-us')), 'the report is of the shown instant');
  const cli = cliRun(id, us);
  assert.equal(await page.textContent('#digest'), cli.digest, 'the page and the CLI are at the same state');
  const report = cli.replication;
  assert.ok(report.failures.length >= 1, `${id}: the CLI reports a failure by ${us} us`);
  for (const group of report.groups) {
    const card = page.locator(`.replication-group[data-group="${group.broker_name}"]`);
    assert.equal(await card.getAttribute('data-master'), group.master ?? '', `${id}: ${group.broker_name}'s master`);
    for (const replica of group.replicas) {
      const row = card.locator(`tr[data-replica="${replica.node}"]`);
      assert.equal(await row.getAttribute('data-role'), replica.role, `${id}: ${replica.node}'s role`);
      assert.equal(Number(await row.getAttribute('data-lag-bytes')), replica.lag_bytes, `${id}: ${replica.node}'s lag`);
    }
  }
  for (const f of report.failures) {
    const row = page.locator(`.replication-group[data-group="${f.broker_name}"] tr.failure[data-node="${f.node}"][data-at-us="${f.at}"]`);
    assert.equal(await row.count(), 1, `${id}: the failure of ${f.node} at ${f.at} us is listed`);
    assert.equal(await row.getAttribute('data-rto-us'), f.rto === null ? '' : String(f.rto), `${id}: RTO of ${f.node}`);
    assert.equal(Number(await row.getAttribute('data-lost')), f.lost.length, `${id}: RPO of ${f.node}`);
    assert.equal(Number(await row.getAttribute('data-acknowledged')), f.acknowledged_before, `${id}: acknowledged before`);
    assert.equal(await row.getAttribute('data-master-lost'), String(f.master_lost));
    const rtoText = await row.locator('td.rto').textContent();
    if (f.rto === null && f.master_lost) assert.match(rtoText, /not yet recovered/);
    if (f.rto !== null) assert.doesNotMatch(rtoText, /not yet recovered/);
  }
  return report;
}

test('classic ASYNC_MASTER: after the master loses power the panel shows the CLI\'s RTO and RPO', TIMEOUT, async () => {
  const page = await openPage();
  // A cluster without replicas has no replication panel.
  await openAt(page, 'producer-broker-down', 0.5);
  assert.equal(await page.locator('#replication').count(), 0, 'no panel without replicas');
  await openAt(page, 'ha-async-master-loss', 0.9);
  const report = await panelMatchesCli(page, 'ha-async-master-loss');
  const failure = report.failures.find((f) => f.master_lost);
  assert.ok(failure, 'the master was lost');
  // The restarted master is up, yet no write to its group succeeded since: the panel says why it has no RTO.
  const group = report.groups.find((g) => g.broker_name === failure.broker_name);
  const masterUp = group.replicas.some((r) => r.up && r.node === group.master);
  if (failure.rto === null && masterUp) {
    assert.match(await page.textContent(`tr.failure[data-node="${failure.node}"] td.rto`), /a master is up, but no write/);
  }
  // A classic group's master is drawn with the M badge when it is up; its slave never is.
  for (const group of report.groups) {
    for (const r of group.replicas) {
      const badge = await page.getAttribute(`#topology g.node[data-node="${r.node}"]`, 'data-badge');
      assert.equal(badge, r.up && r.role !== 'SLAVE' ? 'M' : null, `${r.node}'s badge`);
    }
  }
  await shot(page, 'ha-async-master-loss');
  // Paused, the user cuts broker-b's power: the panel lists that failure at once (no stale report).
  assert.equal(await page.locator('tr.failure[data-node="broker-b"]').count(), 0);
  await page.click('#topology g.node[data-node="broker-b"]');
  await page.click('#fault-power');
  await page.locator('tr.failure[data-node="broker-b"][data-master-lost="true"]').waitFor();
  assert.match(await page.textContent('tr.failure[data-node="broker-b"] td.rto'), /not yet recovered/);
  assert.deepEqual(page.errors, []);
});

test('DLedger: a follower is elected leader, badged L, and the panel shows the CLI\'s RTO and RPO', TIMEOUT, async () => {
  const page = await openPage();
  await openAt(page, 'dledger-leader-failover', 0.9);
  const report = await panelMatchesCli(page, 'dledger-leader-failover');
  const failure = report.failures.find((f) => f.master_lost);
  const group = report.groups.find((g) => g.broker_name === failure.broker_name);
  assert.ok(group.master && group.master !== failure.node, `a new leader: ${group.master}`);
  assert.equal(await page.getAttribute(`#topology g.node[data-node="${group.master}"]`, 'data-badge'), 'L');
  assert.match(await page.textContent(`#topology g.node[data-node="${group.master}"] text.role`), /leader · term \d+/);
  assert.match(await page.textContent(`.replication-group[data-group="${group.broker_name}"] .group-master`), new RegExp(group.master));
  assert.ok(failure.rto !== null, 'the group took writes again');
  await shot(page, 'dledger-leader-failover');
  // In Chinese too.
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.querySelector('.app')?.dataset.lang === 'zh');
  assert.match(await page.textContent('#replication h2'), /主从复制/);
  assert.match(await page.textContent(`#topology g.node[data-node="${group.master}"] text.role`), /领导者/);
  await shot(page, 'dledger-leader-failover-zh');
  // A measurement, not a check: the render time while playing with the panel open (its report scans
  // the replicas' logs each frame) and hidden.
  const renderMs = async () => {
    await openAt(page, 'dledger-leader-failover', 0.05);
    await page.click('#play-pause');
    await page.waitForTimeout(4_000);
    const ms = Number(await page.getAttribute('#perf', 'data-render-ms'));
    await pause(page);
    return ms;
  };
  const open = await renderMs();
  await page.click('#replication-toggle');
  await page.locator('#replication-body').waitFor({ state: 'detached' });
  const hidden = await renderMs();
  console.log(`replication panel: render ${open} ms per frame open, ${hidden} ms hidden (dledger-leader-failover, playing)`);
  assert.deepEqual(page.errors, []);
});

test('5.x controller: drawn beside the NameServers, its inspector names the new master, epoch and SyncStateSet', TIMEOUT, async () => {
  const page = await openPage();
  await openAt(page, 'controller-failover-5x', 0.9);
  const report = await panelMatchesCli(page, 'controller-failover-5x');
  const failure = report.failures.find((f) => f.master_lost);
  const group = report.groups.find((g) => g.broker_name === failure.broker_name);
  assert.ok(group.master && group.master !== failure.node, `a new master: ${group.master}`);
  assert.equal(await page.getAttribute(`#topology g.node[data-node="${group.master}"]`, 'data-badge'), 'M');
  // The controller sits in the NameServers' row, labelled as the 5.x coordination service.
  const controller = page.locator('#topology g.node.kind-controller').first();
  const nameServer = page.locator('#topology g.node.kind-nameserver').first();
  assert.equal((await controller.boundingBox()).y, (await nameServer.boundingBox()).y);
  assert.match(await controller.locator('text.role').textContent(), /Controller \(5\.x\)/);
  assert.match(await page.textContent(`.replication-group[data-group="${group.broker_name}"] .sync-state-set`), /SyncStateSet \{.+\}/);
  await shot(page, 'controller-failover-5x');
  await controller.click();
  const detail = page.locator('#controller-detail');
  await detail.waitFor();
  assert.ok(Number(await detail.getAttribute('data-elections')) >= 1, 'an election happened');
  assert.equal(await detail.locator(`.broker-set[data-broker-set="${group.broker_name}"]`).getAttribute('data-master'), group.master);
  await shotAsIs(page, 'controller-inspector');
  assert.deepEqual(page.errors, []);
});
