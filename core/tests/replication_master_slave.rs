//! Master/slave HA as RocketMQ 4.9.8 does it: the slave connects to the HA address it learnt from the
//! NameServer, reports its offset, appends the master's bytes verbatim; SYNC_MASTER waits for it;
//! ASYNC_MASTER does not, and loses what the slave had not received when the master dies.

mod replication_support;

use replication_support::*;
use rmqsim_core::broker::ha::ClientState;
use rmqsim_core::observation::Observation;
use rmqsim_core::producer::send_result::SendStatus;
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::Simulation;

fn pair(role: &str, flush: &str, extra_store: &str, workload: &str) -> String {
    pair_with_timeout(role, flush, extra_store, workload, 3_000)
}

/// A producer waits `sendMsgTimeout` for its answer: with RocketMQ's default (3 s, the same as the
/// broker's `slaveTimeout`) it gives up before a FLUSH_SLAVE_TIMEOUT answer can arrive.
fn pair_with_timeout(role: &str, flush: &str, extra_store: &str, workload: &str, send_timeout: u32) -> String {
    let group = format!(
        "slaves = 1\n[topology.broker_groups.store]\nbrokerRole = \"{role}\"\nflushDiskType = \"{flush}\"\n{extra_store}"
    );
    cluster(1, &[("broker-a", &group)], &[("TopicTest", 4)])
        + &producer(&format!("sendMsgTimeout = {send_timeout}"), "TopicTest", workload)
}

/// broker-a with a slave, broker-b alone, a producer starting at `start_at`, then `more` (consumers),
/// and broker-a's master killed at `kill_at`.
fn master_with_slave_killed(start_at: &str, per_second: u32, more: &str, kill_at: &str) -> String {
    let workload = format!("start_at = \"{start_at}\"\nrate = [{{ at = \"0s\", per_second = {per_second} }}]");
    [
        cluster(1, &[("broker-a", "slaves = 1"), ("broker-b", "")], &[("TopicTest", 4)]),
        producer("", "TopicTest", &workload),
        more.to_string(),
        crash(kill_at, "broker-a", "process_kill"),
    ]
    .concat()
}

const STEADY: &str = "start_at = \"8s\"\nrate = [{ at = \"0s\", per_second = 10 }]\nmax_messages = 50";

#[test]
fn a_sync_master_acknowledges_once_its_slave_has_the_bytes_and_the_logs_are_identical() {
    let sim = run(&pair("SYNC_MASTER", "SYNC_FLUSH", "", STEADY), 1, Time::from_secs(20));
    assert_eq!(count_status(&sim, SendStatus::SendOk), 50);
    let master = broker(&sim, "broker-a").unwrap();
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert_eq!(master.store.max_phy_offset(), slave.store.max_phy_offset());
    // The slave's CommitLog holds the master's bytes at the same offsets, and its own dispatch built
    // its ConsumeQueues.
    let disk_m = sim.kernel().disk(node(&sim, "broker-a"));
    let disk_s = sim.kernel().disk(node(&sim, "broker-a-s1"));
    let end = master.store.max_phy_offset();
    let m = master.store.commit_log().get_message(disk_m, 0, end as i32).unwrap();
    let s = slave.store.commit_log().get_message(disk_s, 0, end as i32).unwrap();
    assert_eq!(m, s);
    let queued: i64 =
        (0..4).map(|q| slave.store.consume_queue("TopicTest", q).map_or(0, |cq| cq.max_offset_in_queue())).sum();
    assert_eq!(queued, 50);
}

#[test]
fn before_the_slave_connects_a_sync_master_answers_slave_not_available() {
    // The slave learns the HA address from its first registration and connects on its loop's next
    // turn, 5 s after start: sends before that are stored but answered SLAVE_NOT_AVAILABLE.
    let workload = "start_at = \"1s\"\nrate = [{ at = \"0s\", per_second = 10 }]\nmax_messages = 60";
    let sim = run(&pair("SYNC_MASTER", "ASYNC_FLUSH", "", workload), 1, Time::from_secs(12));
    let results = results(&sim);
    let not_available: Vec<Time> =
        results.iter().filter(|r| r.2 == SendStatus::SlaveNotAvailable).map(|r| r.0).collect();
    assert!(!not_available.is_empty());
    assert!(not_available.iter().all(|t| *t < Time::from_millis(5_010)), "{not_available:?}");
    assert!(results.iter().filter(|r| r.0 > Time::from_millis(5_010)).all(|r| r.2 == SendStatus::SendOk));
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert_eq!(slave.store.max_phy_offset(), broker(&sim, "broker-a").unwrap().store.max_phy_offset());
}

#[test]
fn a_partitioned_slave_makes_sends_time_out_then_after_housekeeping_slave_not_available() {
    let workload = "start_at = \"8s\"\nrate = [{ at = \"0s\", per_second = 2 }]\nmax_messages = 80";
    let body = format!(
        "{}\n[[actions]]\nat = \"10s\"\ndo = \"partition\"\nfrom = [\"broker-a\"]\nto = [\"broker-a-s1\"]\n",
        pair_with_timeout("SYNC_MASTER", "ASYNC_FLUSH", "", workload, 5_000)
    );
    let sim = run(&body, 3, Time::from_secs(45));
    let results = results(&sim);
    // Waiting puts end FLUSH_SLAVE_TIMEOUT after slaveTimeout (3 s) while the connection still counts;
    // the master's housekeeping closes it 20 s after its last read (the report at ~10 s or before).
    let timeouts: Vec<Time> = results.iter().filter(|r| r.2 == SendStatus::FlushSlaveTimeout).map(|r| r.0).collect();
    let unavailable: Vec<Time> = results.iter().filter(|r| r.2 == SendStatus::SlaveNotAvailable).map(|r| r.0).collect();
    assert!(timeouts.len() >= 5, "{timeouts:?}");
    assert!(timeouts.iter().all(|t| *t >= Time::from_secs(13) && *t <= Time::from_secs(34)), "{timeouts:?}");
    assert!(!unavailable.is_empty());
    assert!(unavailable[0] > *timeouts.last().unwrap());
    assert!(results.iter().filter(|r| r.0 < Time::from_secs(10)).all(|r| r.2 == SendStatus::SendOk));
}

#[test]
fn async_master_power_loss_with_a_lagging_slave_loses_exactly_the_unreplicated_acknowledged_messages() {
    // A slow link delays the slave by 2 s; the master loses power at 20 s and stays down.
    let workload = "start_at = \"8s\"\nrate = [{ at = \"0s\", per_second = 20 }]\nmax_messages = 400";
    let body = [
        pair("ASYNC_MASTER", "ASYNC_FLUSH", "", workload),
        action("12s", "do = \"clog\"\nfrom = \"broker-a\"\nto = \"broker-a-s1\"\nextra = \"2s\""),
        crash("20s", "broker-a", "power_loss"),
    ]
    .concat();
    let sim = run(&body, 5, Time::from_secs(40));
    let report = sim.replication_report();
    let failure = &report.failures[0];
    assert_eq!((failure.node.as_str(), failure.kind.as_str(), failure.master_lost), ("broker-a", "power_loss", true));
    assert_eq!(failure.rto, None, "a classic group has no master until the old one comes back");
    // Independently of the report: the acknowledged messages whose record ends past what the slave holds.
    let slave_end = broker(&sim, "broker-a-s1").unwrap().store.max_phy_offset();
    let stored_at: std::collections::BTreeMap<String, i64> = picked(&sim, |o| match o {
        Observation::MessageStored { msg_id, commit_log_offset, wrote_bytes, .. } => {
            Some((msg_id.clone(), commit_log_offset + i64::from(*wrote_bytes)))
        }
        _ => None,
    })
    .into_iter()
    .collect();
    let acked: Vec<String> = results(&sim)
        .into_iter()
        .filter(|r| r.2 == SendStatus::SendOk && r.0 <= Time::from_secs(20))
        .flat_map(|r| r.1)
        .collect();
    let expected: Vec<String> = acked.iter().filter(|id| stored_at[*id] > slave_end).cloned().collect();
    let mut lost = failure.lost.clone();
    lost.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(lost, expected_sorted);
    // About 2 s of traffic at 20 msg/s was only on the master.
    assert!((30..=50).contains(&expected.len()), "{}", expected.len());
    assert_eq!(failure.acknowledged_before as usize, acked.len());
}

#[test]
fn the_slave_never_becomes_master_and_producers_write_to_the_other_group() {
    let sim = run(&master_with_slave_killed("5s", 10, "", "20s"), 2, Time::from_secs(90));
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert_eq!(slave.spec.broker_id, 1);
    assert_eq!(slave.role(), rmqsim_core::broker::store::message_store_config::BrokerRole::Slave);
    // The NameServer dropped broker-a's master at once (its channel closed); the producer's next route
    // refresh (at most 30 s later) leaves only broker-b in the publish list.
    let late: Vec<_> = results(&sim).into_iter().filter(|r| r.0 > Time::from_secs(51)).collect();
    assert!(late.len() > 300);
    assert!(late.iter().all(|r| r.3 == "broker-b" && r.2 == SendStatus::SendOk));
    let report = sim.replication_report();
    assert_eq!(report.failures[0].rto, None);
    assert!(report.failures[0].lost.is_empty(), "killed, not powered off: the slave had everything");
}

#[test]
fn the_slave_reconnects_after_a_partition_heals_and_catches_up() {
    let workload = "start_at = \"8s\"\nrate = [{ at = \"0s\", per_second = 20 }]\nmax_messages = 400";
    let body = format!(
        "{}\n[[actions]]\nat = \"10s\"\ndo = \"partition\"\nfrom = [\"broker-a\"]\nto = [\"broker-a-s1\"]\n\
         [[actions]]\nat = \"16s\"\ndo = \"heal_all\"\n",
        pair("ASYNC_MASTER", "ASYNC_FLUSH", "", workload)
    );
    let mut sim = Simulation::new(&scenario(&body), 4).unwrap();
    sim.run_until(Time::from_secs(15));
    let lag = sim.view().replication[0].replicas[1].lag_bytes;
    assert!(lag > 0, "the partitioned slave lags");
    assert!(sim.view().replication[0].replicas[1].lag_ms > 1_000);
    sim.run_until(Time::from_secs(40));
    let master = broker(&sim, "broker-a").unwrap();
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert_eq!(master.store.max_phy_offset(), slave.store.max_phy_offset());
    assert_eq!(sim.view().replication[0].replicas[1].lag_bytes, 0);
    assert!(slave.replication.ha_client.connects >= 2, "the partition broke the connection");
}

#[test]
fn a_restarted_master_resets_the_stale_ha_socket_and_the_slave_reconnects() {
    // Power loss: the slave hears nothing and keeps its socket; the restarted master answers its next
    // report with a reset, the slave reconnects and replication goes on.
    let workload = "start_at = \"8s\"\nrate = [{ at = \"0s\", per_second = 10 }]\nmax_messages = 300";
    let body = format!(
        "{}\n[[actions]]\nat = \"15s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"power_loss\"\n\
         [[actions]]\nat = \"25s\"\ndo = \"restart\"\nnode = \"broker-a\"\n",
        pair("SYNC_MASTER", "SYNC_FLUSH", "", workload)
    );
    let mut sim = Simulation::new(&scenario(&body), 6).unwrap();
    sim.run_until(Time::from_secs(24));
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert!(matches!(slave.replication.ha_client.state, ClientState::Connected { .. }), "nothing told the slave");
    sim.run_until(Time::from_secs(45));
    let master = broker(&sim, "broker-a").unwrap();
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert!(slave.replication.ha_client.connects >= 2);
    assert_eq!(master.replication.ha_service.connections.len(), 1);
    assert_eq!(master.store.max_phy_offset(), slave.store.max_phy_offset());
    let report = sim.replication_report();
    assert!(report.failures[0].lost.is_empty(), "SYNC_FLUSH kept every acknowledged message on the master");
    assert!(report.failures[0].rto.is_some_and(|rto| rto < Duration::from_secs(45)), "{:?}", report.failures[0].rto);
}

#[test]
fn the_slave_copies_topic_config_and_consumer_offsets_from_the_master() {
    let body = format!(
        "{}\n[[consumer_groups]]\ngroup = \"G\"\n[[consumer_groups.subscriptions]]\ntopic = \"TopicTest\"\n",
        pair("ASYNC_MASTER", "ASYNC_FLUSH", "", STEADY)
    );
    let sim = run(&body, 7, Time::from_secs(45));
    let master = broker(&sim, "broker-a").unwrap();
    let slave = broker(&sim, "broker-a-s1").unwrap();
    assert!(slave.replication.slave_sync.syncs >= 3, "first at 3 s, then every 10 s");
    assert_eq!(slave.topic_config_manager.data_version, master.topic_config_manager.data_version);
    let key = "TopicTest@G";
    let on_master = master.consumer_services.consumer_offset_manager.offset_table.get(key).cloned();
    assert!(on_master.is_some());
    assert_eq!(slave.consumer_services.consumer_offset_manager.offset_table.get(key), on_master.as_ref());
}

#[test]
fn a_slow_slave_disk_does_not_slow_a_sync_master_because_the_slave_acknowledges_its_page_cache() {
    let body = format!(
        "{}\n[[actions]]\nat = \"1s\"\ndo = \"slow_disk\"\nnode = \"broker-a-s1\"\nfactor = 1000\n",
        pair("SYNC_MASTER", "ASYNC_FLUSH", "", STEADY)
    );
    let sim = run(&body, 8, Time::from_secs(20));
    assert_eq!(count_status(&sim, SendStatus::SendOk), 50);
}

#[test]
fn with_5x_rules_a_sync_master_waits_only_when_in_sync_replicas_asks_for_more_than_itself() {
    let workload = "start_at = \"1s\"\nrate = [{ at = \"0s\", per_second = 10 }]\nmax_messages = 30";
    // inSyncReplicas = 1 (5.x's default): no wait, no SLAVE_NOT_AVAILABLE even before the slave connects.
    let sim = run(&pair("SYNC_MASTER", "ASYNC_FLUSH", "haVersion = \"5.x\"", workload), 1, Time::from_secs(10));
    assert_eq!(count_status(&sim, SendStatus::SendOk), 30);
    // inSyncReplicas = 2: before the slave connects, puts time out (FLUSH_SLAVE_TIMEOUT), never SLAVE_NOT_AVAILABLE.
    let sim = run(
        &pair_with_timeout("SYNC_MASTER", "ASYNC_FLUSH", "haVersion = \"5.x\"\ninSyncReplicas = 2", workload, 5_000),
        1,
        Time::from_secs(12),
    );
    assert_eq!(count_status(&sim, SendStatus::SlaveNotAvailable), 0);
    assert!(count_status(&sim, SendStatus::FlushSlaveTimeout) > 0);
    assert!(results(&sim).iter().filter(|r| r.0 > Time::from_secs(6)).all(|r| r.2 == SendStatus::SendOk));
}

#[test]
fn with_the_master_down_consumers_drain_what_the_slave_has_and_producers_use_the_other_group() {
    let consumer = "[[consumer_groups]]\ngroup = \"G\"\nstart_at = \"25s\"\n\
                    [[consumer_groups.subscriptions]]\ntopic = \"TopicTest\"\n";
    let sim = run(&master_with_slave_killed("6s", 20, consumer, "15s"), 9, Time::from_secs(80));
    let stored_on_a = stored_on(&sim, "broker-a");
    let consumed = consumed_from(&sim, "broker-a");
    let slave = broker(&sim, "broker-a-s1").unwrap();
    let on_slave =
        rmqsim_core::replication_metrics::stored_msg_ids(&slave.store, sim.kernel().disk(node(&sim, "broker-a-s1")));
    assert!(on_slave.len() > 50);
    assert_eq!(consumed, on_slave, "everything the slave has is read from it");
    // ASYNC_MASTER: what the master stored in its last write-service wait (100 ms) never reached the slave.
    let missing: Vec<&String> = stored_on_a.difference(&on_slave).collect();
    assert!(missing.len() <= 2 && on_slave.is_subset(&stored_on_a), "{missing:?}");
    assert!(slave.consumer_services.stats.messages_pulled >= on_slave.len() as u64);
    let late: Vec<_> = results(&sim).into_iter().filter(|r| r.0 > Time::from_secs(46)).collect();
    assert!(late.iter().all(|r| r.3 == "broker-b"));
}
