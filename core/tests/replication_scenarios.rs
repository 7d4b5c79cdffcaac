//! The built-in replication scenarios do what their narratives say.

mod replication_support;

use replication_support::*;
use rmqsim_core::broker::store::message_store_config::BrokerRole;
use rmqsim_core::observation::Observation;
use rmqsim_core::producer::send_result::SendStatus;
use rmqsim_core::scenario::{library, Scenario};
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::Simulation;

fn builtin(id: &str) -> Simulation {
    let scenario = Scenario::parse(id, library::find(id).unwrap()).unwrap();
    Simulation::new(&scenario, scenario.seed).unwrap()
}

#[test]
fn ha_async_master_loss_loses_the_unreplicated_tail_then_gets_the_flushed_part_back() {
    let mut sim = builtin("ha-async-master-loss");
    sim.run_until(Time::from_secs(29));
    let lag = &sim.view().replication[0].replicas[1];
    assert!(lag.lag_ms >= 1_000 && lag.lag_bytes > 0, "the slow link puts the slave behind: {lag:?}");
    sim.run_until(Time::from_secs(50));
    let while_down = sim.replication_report().failures[0].clone();
    assert!(while_down.master_lost);
    assert!((25..=60).contains(&while_down.lost.len()), "{}", while_down.lost.len());
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert_eq!(slave.role(), BrokerRole::Slave);
    sim.run_until(Time::from_secs(95));
    let after_restart = sim.replication_report().failures[0].clone();
    assert!(
        !after_restart.lost.is_empty() && after_restart.lost.len() < while_down.lost.len() / 2,
        "{}",
        after_restart.lost.len()
    );
    assert!(after_restart.lost.iter().all(|id| while_down.lost.contains(id)));
    // Writes went to broker-b meanwhile.
    let to_b = results(&sim)
        .iter()
        .filter(|r| r.0 > Time::from_secs(35) && r.0 < Time::from_secs(60) && r.3 == "broker-b")
        .count();
    assert!(to_b > 500, "{to_b}");
    // The slave caught up with the recovered master.
    let master = broker(&sim, "broker-a").unwrap();
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert_eq!(master.store.max_phy_offset(), slave.store.max_phy_offset());
}

#[test]
fn ha_read_from_slave_serves_consumers_from_the_slave_while_producers_use_broker_b() {
    let mut sim = builtin("ha-read-from-slave");
    sim.run_until(Time::from_secs(99));
    let stored_on_a = stored_on(&sim, "broker-a");
    let consumed_from_a = consumed_from(&sim, "broker-a");
    assert!(stored_on_a.len() > 100);
    assert_eq!(consumed_from_a, stored_on_a, "SYNC_MASTER: the slave had everything broker-a acknowledged");
    assert!(broker(&sim, "broker-a-s1").unwrap().consumer_services.stats.messages_pulled > 100);
    assert!(results(&sim).iter().filter(|r| r.0 > Time::from_secs(31)).all(|r| r.3 == "broker-b"));
    sim.run_until(Time::from_secs(150));
    assert_eq!(broker(&sim, "broker-a-s1").unwrap().role(), BrokerRole::Slave);
    let failure = &sim.replication_report().failures[0];
    assert!(failure.lost.is_empty());
    let rto = failure.rto.expect("broker-a takes writes again after its restart");
    assert!(rto >= Duration::from_secs(70) && rto <= Duration::from_secs(102), "{rto}");
}

#[test]
fn dledger_leader_failover_elects_a_new_master_and_loses_nothing() {
    let mut sim = builtin("dledger-leader-failover");
    sim.run_until(Time::from_secs(29));
    assert_eq!(broker(&sim, "broker-a").unwrap().spec.broker_id, 0, "seed 1: broker-a (n0) leads first");
    sim.run_until(Time::from_secs(120));
    let leaders: Vec<(Time, String)> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::DLedgerRoleChanged { role, .. } if role == "LEADER" && o.time > Time::from_secs(30) => {
                Some((o.time, sim.directory().entry(o.node).name.clone()))
            }
            _ => None,
        })
        .collect();
    let (elected_at, new_leader) = leaders.first().cloned().expect("a new leader");
    let election = elected_at.saturating_since(Time::from_secs(30));
    assert!(election >= Duration::from_secs(4) && election <= Duration::from_secs(9), "{election}");
    assert_ne!(new_leader, "broker-a");
    let failure = &sim.replication_report().failures[0];
    assert!(failure.master_lost && failure.lost.is_empty());
    let rto = failure.rto.expect("writes resumed");
    assert!(rto >= election && rto <= election + Duration::from_secs(31), "{rto}");
    // The old leader rejoined as a follower with the same log.
    let old = broker(&sim, "broker-a").unwrap().store.dledger().unwrap();
    let new = broker(&sim, &new_leader).unwrap().store.dledger().unwrap();
    assert_eq!(old.ledger_end_index, new.ledger_end_index);
    assert!(count_status(&sim, SendStatus::SendOk) > 1_500);
}

#[test]
fn controller_failover_5x_elects_an_in_sync_replica_and_every_acknowledged_message_is_consumed() {
    let mut sim = builtin("controller-failover-5x");
    sim.run_until(Time::from_secs(110));
    let elections: Vec<(Time, Option<u64>, u32, bool)> = sim
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::MasterElected { master_id, epoch, unclean, .. } => {
                Some((o.time, *master_id, *epoch, *unclean))
            }
            _ => None,
        })
        .collect();
    assert_eq!(elections.len(), 2, "{elections:?}");
    let (elected_at, new_master, epoch, unclean) = elections[1];
    let detection = elected_at.saturating_since(Time::from_secs(30));
    assert!(detection >= Duration::from_secs(9) && detection <= Duration::from_secs(15), "{detection}");
    assert_eq!((epoch, unclean), (2, false));
    assert_ne!(new_master, elections[0].1);
    let failure = &sim.replication_report().failures[0];
    assert!(failure.master_lost && failure.lost.is_empty(), "{:?}", failure.lost);
    assert!(failure.rto.is_some());
    // broker-a came back as a slave of epoch 2 and rejoined the SyncStateSet.
    let old = broker(&sim, "broker-a").unwrap();
    assert_eq!(old.role(), BrokerRole::Slave);
    assert_eq!(old.replication.auto_switch.as_ref().unwrap().epochs.last_epoch(), 2);
    // A new master dispatches the tail its old master had confirmed before it takes writes: no two
    // messages share a ConsumeQueue offset, so consumers skip none.
    let mut slots = std::collections::BTreeMap::new();
    let acknowledged: std::collections::BTreeSet<String> =
        results(&sim).into_iter().filter(|r| r.2 == SendStatus::SendOk).flat_map(|r| r.1).collect();
    for o in sim.observations() {
        if let Observation::MessageStored { topic, queue_id, queue_offset, msg_id, .. } = &o.observation {
            if acknowledged.contains(msg_id) {
                let previous = slots.insert((topic.clone(), *queue_id, *queue_offset), msg_id.clone());
                assert!(previous.is_none_or(|p| p == *msg_id), "{topic}:{queue_id}@{queue_offset} reused");
            }
        }
    }
    let consumed: std::collections::BTreeSet<String> = picked(&sim, |o| match o {
        Observation::ConsumeFinished { msg_id, discarded: false, .. } => Some(msg_id.clone()),
        _ => None,
    })
    .into_iter()
    .collect();
    assert!(acknowledged.len() > 1_000);
    assert_eq!(acknowledged.difference(&consumed).count(), 0);
    assert!(sim.check_report().passed());
}
