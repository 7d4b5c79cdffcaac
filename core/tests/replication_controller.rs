//! 5.x controller mode (labelled 5.x: RocketMQ 4.9 has no controller): a controller elects the master
//! from the SyncStateSet, replicas truncate to the epoch boundary, and the acknowledgement rules decide
//! what a master's death can lose.

mod replication_support;

use replication_support::*;
use rmqsim_core::broker::store::message_store_config::BrokerRole;
use rmqsim_core::observation::Observation;
use rmqsim_core::producer::send_result::SendStatus;
use rmqsim_core::scenario::model::{ActionSpec, CrashKindSpec};
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::Simulation;

const NODES: [&str; 3] = ["broker-a", "broker-a-s1", "broker-a-s2"];

fn controlled(store: &str, controller: &str) -> String {
    format!(
        r#"
[topology]
name_servers = 1
controllers = 1
[topology.controller_config]
{controller}
[[topology.broker_groups]]
name = "broker-a"
slaves = 2
[topology.broker_groups.config]
enableControllerMode = true
[topology.broker_groups.store]
{store}
[[topology.topics]]
name = "TopicTest"
queues = 4
[[producers]]
[producers.config]
sendMsgTimeout = 5000
[producers.workload]
topic = "TopicTest"
start_at = "3s"
rate = [{{ at = "0s", per_second = 20 }}]
"#
    )
}

fn master(sim: &Simulation) -> Option<String> {
    NODES.iter().find(|n| broker(sim, n).is_some_and(|b| b.role() != BrokerRole::Slave)).map(|n| n.to_string())
}

fn sync_state_set(sim: &Simulation, node: &str) -> Vec<u64> {
    broker(sim, node)
        .and_then(|b| b.replication.auto_switch.as_ref())
        .map_or(Vec::new(), |a| a.sync_state_set.iter().copied().collect())
}

fn elections(sim: &Simulation) -> Vec<(Time, Option<u64>, u32, bool)> {
    seen(sim, |o| match o {
        Observation::MasterElected { master_id, epoch, unclean, .. } => Some((*master_id, *epoch, *unclean)),
        _ => None,
    })
    .into_iter()
    .map(|(time, (master_id, epoch, unclean))| (time, master_id, epoch, unclean))
    .collect()
}

fn crash(sim: &mut Simulation, node: &str, kind: CrashKindSpec) {
    sim.inject(None, &ActionSpec::Crash { node: node.to_string(), kind }).unwrap();
}

fn clog_master_links(sim: &mut Simulation, master: &str, extra: &str) {
    for slave in NODES.iter().filter(|n| **n != master) {
        let clog = ActionSpec::Clog { from: master.to_string(), to: slave.to_string(), extra: extra.to_string() };
        sim.inject(None, &clog).unwrap();
    }
}

#[test]
fn the_controller_elects_a_master_and_every_caught_up_replica_joins_the_sync_state_set() {
    let sim = run(&controlled("", ""), 1, Time::from_secs(12));
    let master = master(&sim).expect("a master");
    assert_eq!(broker(&sim, &master).unwrap().spec.broker_id, 0);
    assert_eq!(broker(&sim, &master).unwrap().role(), BrokerRole::SyncMaster);
    assert_eq!(sync_state_set(&sim, &master), vec![1, 2, 3]);
    assert_eq!(elections(&sim).len(), 1);
    assert!(count_status(&sim, SendStatus::SendOk) > 150);
    for replica in &sim.view().replication[0].replicas {
        assert!(replica.lag_bytes <= 500, "at most the message in flight: {replica:?}");
        if replica.node != master {
            assert_eq!(replica.role, "SLAVE");
        }
    }
}

#[test]
fn killing_the_master_elects_an_in_sync_replica_with_a_new_epoch_and_all_ack_loses_nothing() {
    let mut sim = Simulation::new(&scenario(&controlled("allAckInSyncStateSet = true", "")), 2).unwrap();
    sim.run_until(Time::from_secs(20));
    let old = master(&sim).unwrap();
    crash(&mut sim, &old, CrashKindSpec::PowerLoss);
    sim.run_until(Time::from_secs(80));
    let new = master(&sim).expect("a new master");
    assert_ne!(new, old);
    let (elected_at, _, epoch, unclean) = *elections(&sim).last().unwrap();
    assert_eq!((epoch, unclean), (2, false));
    // Inactive 10 s after its last heartbeat (sent at most 1 s before the crash), found by a 5 s scan.
    let detection = elected_at.saturating_since(Time::from_secs(20));
    assert!(detection >= Duration::from_secs(9) && detection <= Duration::from_secs(15), "{detection}");
    let report = sim.replication_report();
    let failure = &report.failures[0];
    assert!(failure.master_lost && failure.lost.is_empty(), "{:?}", failure.lost);
    let rto = failure.rto.expect("writes resumed");
    assert!(rto <= detection + Duration::from_secs(31), "{rto}");
}

/// The master's links to its slaves slow down by 1 s at 20 s, it loses power at 25 s, and by 70 s
/// another replica is master.
fn lagging_master_lost(store: &str) -> Simulation {
    let mut sim = Simulation::new(&scenario(&controlled(store, "")), 3).unwrap();
    sim.run_until(Time::from_secs(20));
    let old = master(&sim).unwrap();
    clog_master_links(&mut sim, &old, "1s");
    sim.run_until(Time::from_secs(25));
    crash(&mut sim, &old, CrashKindSpec::PowerLoss);
    sim.run_until(Time::from_secs(70));
    assert!(master(&sim).is_some_and(|m| m != old));
    sim
}

#[test]
fn with_the_default_acks_a_master_loss_loses_what_no_slave_had_received() {
    let sim = lagging_master_lost("");
    let failure = &sim.replication_report().failures[0];
    // inSyncReplicas = 1: the master acknowledged alone; the last second never reached a slave.
    assert!(failure.lost.len() >= 10, "{}", failure.lost.len());
}

#[test]
fn all_ack_in_sync_state_set_waits_for_the_slow_slaves_and_loses_nothing() {
    let sim = lagging_master_lost("allAckInSyncStateSet = true");
    assert!(sim.replication_report().failures[0].lost.is_empty());
}

#[test]
fn a_sync_state_set_of_the_master_alone_leaves_no_candidate_unless_unclean_election_is_enabled() {
    for unclean in [false, true] {
        let controller = format!("enableElectUncleanMaster = {unclean}");
        let mut sim = Simulation::new(&scenario(&controlled("allAckInSyncStateSet = true", &controller)), 4).unwrap();
        sim.run_until(Time::from_secs(10));
        let old = master(&sim).unwrap();
        let others: Vec<String> = NODES.iter().filter(|n| **n != old).map(|n| n.to_string()).collect();
        sim.inject(None, &ActionSpec::Partition { from: vec![old.clone()], to: others, both_ways: true }).unwrap();
        // 15 s without catching up: the master shrinks the set to itself and acknowledges alone.
        sim.run_until(Time::from_secs(40));
        assert_eq!(
            sync_state_set(&sim, &old),
            vec![broker(&sim, &old).unwrap().replication.auto_switch.as_ref().unwrap().broker_id]
        );
        crash(&mut sim, &old, CrashKindSpec::DiskLoss);
        sim.run_until(Time::from_secs(90));
        let failure = sim.replication_report().failures[0].clone();
        if unclean {
            let new = master(&sim).expect("an out-of-sync replica was elected");
            assert_ne!(new, old);
            assert!(elections(&sim).last().unwrap().3, "marked unclean");
            assert!(!failure.lost.is_empty(), "what only the old master had is gone");
        } else {
            assert_eq!(master(&sim), None, "no in-sync candidate: the set stays without a master");
            assert_eq!(failure.rto, None);
        }
    }
}

#[test]
fn a_returning_old_master_truncates_what_it_wrote_past_the_epoch_boundary() {
    let mut sim = Simulation::new(&scenario(&controlled("", "")), 5).unwrap();
    sim.run_until(Time::from_secs(20));
    let old = master(&sim).unwrap();
    clog_master_links(&mut sim, &old, "1s");
    sim.run_until(Time::from_secs(25));
    crash(&mut sim, &old, CrashKindSpec::ProcessKill);
    sim.run_until(Time::from_secs(60));
    sim.inject(None, &ActionSpec::HealAll).unwrap();
    sim.inject(None, &ActionSpec::Restart { node: old.clone() }).unwrap();
    sim.run_until(Time::from_secs(90));
    let truncated: Vec<_> = sim
        .observations()
        .iter()
        .filter(|o| sim.directory().entry(o.node).name == old)
        .filter_map(|o| match &o.observation {
            Observation::ReplicaTruncated { bytes_cut, reason, .. } => Some((*bytes_cut, reason.clone())),
            _ => None,
        })
        .collect();
    assert!(truncated.iter().any(|(bytes, _)| *bytes > 0), "{truncated:?}");
    assert_eq!(broker(&sim, &old).unwrap().role(), BrokerRole::Slave);
    let lag = sim.view().replication[0].replicas.iter().find(|r| r.node == old).unwrap().lag_bytes;
    assert!(lag <= 500, "caught up with the new master: {lag}");
    let epochs = &broker(&sim, &old).unwrap().replication.auto_switch.as_ref().unwrap().epochs.entries;
    assert_eq!(epochs.last().unwrap().epoch, 2);
}

#[test]
fn a_master_that_loses_power_and_returns_before_the_controller_notices_strands_the_tail_its_slaves_hold() {
    // allAckInSyncStateSet, but ASYNC_FLUSH: the master comes back within the 10 s heartbeat timeout and the
    // controller tells it it is still master of epoch 1. As in RocketMQ 5.x (`changeToMaster` with the
    // in-memory epoch back at 0), it rewrites epoch 1's start to the end of what it had flushed. Its slaves
    // hold epoch 1 from offset 0: `findConsistentPoint` finds nothing, so they neither truncate nor follow.
    // The acknowledged tail the master lost survives only on them, out of the consumers' reach; the master
    // drops them from the SyncStateSet after 15 s and acknowledges alone.
    for seed in 1..=4u64 {
        let mut sim = Simulation::new(&scenario(&controlled("allAckInSyncStateSet = true", "")), seed).unwrap();
        sim.run_until(Time::from_secs(20));
        let old = master(&sim).unwrap();
        let before_crash = broker(&sim, &old).unwrap().store.max_phy_offset();
        crash(&mut sim, &old, CrashKindSpec::PowerLoss);
        sim.run_until(Time::from_secs(22));
        sim.inject(None, &ActionSpec::Restart { node: old.clone() }).unwrap();
        sim.run_until(Time::from_secs(60));
        assert_eq!(master(&sim).as_deref(), Some(old.as_str()), "seed {seed}: the controller never saw it go");
        assert_eq!(elections(&sim).len(), 1, "seed {seed}");
        let auto = |node: &str| broker(&sim, node).unwrap().replication.auto_switch.clone().unwrap();
        let rewritten = auto(&old).epochs.entries;
        assert_eq!(rewritten.len(), 1, "seed {seed}: {rewritten:?}");
        let restart_point = rewritten[0].start_offset;
        assert_eq!(rewritten[0].epoch, 1);
        assert!(restart_point > 0 && restart_point < before_crash, "seed {seed}: lost its unflushed tail");
        assert!(
            !sim.observations()
                .iter()
                .any(|o| matches!(o.observation, Observation::ReplicaTruncated { bytes_cut, .. } if bytes_cut > 0)),
            "seed {seed}: no consistent point, so nobody truncates"
        );
        for slave in NODES.iter().filter(|n| **n != old) {
            assert_eq!(auto(slave).epochs.entries[0].start_offset, 0, "seed {seed}");
            let slave_max = broker(&sim, slave).unwrap().store.max_phy_offset();
            assert!(slave_max > restart_point, "seed {seed}: {slave} still holds the tail the master lost");
            assert!(slave_max <= before_crash, "seed {seed}: {slave} took nothing of the rewritten epoch");
        }
        assert_eq!(sync_state_set(&sim, &old), vec![auto(&old).broker_id], "seed {seed}: the slaves were dropped");
        let failure = sim.replication_report().failures[0].clone();
        assert!(failure.lost.is_empty(), "seed {seed}: stranded on the slaves, not yet gone: {:?}", failure.lost);
        assert!(failure.rto.is_some(), "seed {seed}: the master took writes again");
    }
}
